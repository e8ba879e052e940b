/// The math of one optimizer, and nothing else: its options, its state buffers, and the fused kernel of one step.
///
/// Everything an optimizer shares — parameter groups, validation, skipping parameters without a gradient, the
/// non-finite policy, creating state, the parallel sweep over every parameter (`UpdateRule+Sweep.swift`), state
/// dicts — lives once, in ``RuleOptimizer``. A new optimizer is an options type and a rule (see `RMSprop.swift`);
/// its state buffers are declared by name and sign, so state dicts, checkpoints and the low-bit storages need no
/// code of its own. A rule that is another with other defaults (AdamW of Adam) is a ``DerivedRule``.
///
/// A rule may also keep counters per parameter group (``Counters``, advanced once a step: Schedule-Free's `k`,
/// `lr_max`, `weight_sum`) and have a train and an eval mode between which the parameters move
/// (``hasModes``, ``changeMode(to:options:param:state:count:)``); the optimizer saves, restores and shards both.
public protocol UpdateRule: Sendable {
    associatedtype Options: OptimizerOptions
    /// The fused per-element update; one instance per (group, step) carries the step's scalars.
    associatedtype Kernel: SweepKernel
    /// What the rule keeps per group besides its options; ``NoGroupCounters`` for most.
    associatedtype Counters: GroupCounters = NoGroupCounters

    /// PyTorch's class name, used in state dicts and messages: `AdamW`, `Adam`, `SGD`, `RMSprop`, `Adagrad`.
    static var name: String { get }
    /// PyTorch's defaults for this optimizer.
    static var defaults: Options { get }
    /// Every state buffer this optimizer can keep, by PyTorch's name with the sign of its values (which picks its
    /// 8-/4-bit map), in a fixed order (at most four).
    static var buffers: [StateBufferDeclaration] { get }
    /// Whether the rule counts steps in ``ParameterState/step`` (SGD does not, as PyTorch).
    static var countsSteps: Bool { get }

    /// Whether buffer `index` of ``buffers`` is kept for a group with `options` (amsgrad's maximum only with
    /// amsgrad, SGD's momentum buffer only with momentum).
    static func uses(buffer index: Int, options: Options) -> Bool
    /// The value buffer `index` starts from (Adagrad's `initial_accumulator_value`; 0 otherwise). `options` are
    /// the optimizer's defaults, not a group's: PyTorch fills initial state from its constructor's arguments.
    static func initialValue(ofBuffer index: Int, options: Options) -> Float
    /// The buffers a checkpoint must hold for a parameter that has taken `step` steps.
    static func requiredBuffers(step: Int, options: Options) -> [Int]
    /// How a group with `options` stores its state (float32 unless the rule has a storage option, as Adam's
    /// `states`); a tensor a quantized storage does not take keeps float32.
    static func storage(_ options: Options) -> StateStorage

    /// Advances a group's counters by one step, before its parameters step: once a step for every group, whether or
    /// not any of its parameters has a gradient (as Schedule-Free's `k`). The default does nothing.
    static func advance(_ counters: inout Counters, options: Options)
    /// The kernel of a step: `counters` are the group's, advanced for this step; `step` is the parameter's step
    /// count after this step (1-based; 0 when the rule does not count), `freshState` whether its buffers were
    /// created for this step.
    static func kernel(
        _ options: Options, counters: Counters, initialLR: Double, step: Int, freshState: Bool
    ) -> Kernel

    /// Whether the parameters have a train value (where gradients are taken) and an eval value, which
    /// ``changeMode(to:options:param:state:count:)`` moves between (Schedule-Free's y and x). Default: false.
    static var hasModes: Bool { get }
    /// Moves one parameter that has state from the value of the other mode to `mode`'s. Default: nothing.
    static func changeMode(
        to mode: OptimizerMode, options: Options, param: UnsafeMutablePointer<Float>, state: StatePointers, count: Int
    )
    /// The kernel's memory for one parameter; `state[i]` is buffer i of ``buffers``, nil when unused.
    static func streams(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, state: StatePointers
    ) -> Kernel.Streams

    /// One step over every parameter that has a gradient, as one parallel sweep (`counters` are each group's,
    /// advanced for this step): each of `chunks` threads takes an even share of the elements of `layout`, counts the steps of the parameters that start in it, and runs
    /// the kernel over its part of each parameter. `states` holds each parameter's state in layout order
    /// (created already); `fresh` the positions whose buffers were created for this step; `split` the
    /// parameters that fall in more than one chunk, by position, with their values' memory: the caller has
    /// counted their steps and made their values unique already, so that no two threads write one parameter's
    /// bookkeeping. The default is
    /// the only implementation a rule needs; it is a requirement so that it runs specialized for each rule
    /// (generic, its bookkeeping costs more than a small tensor's update).
    static func sweep(
        _ groups: [ParamGroup<Options>], counters: [Counters], layout: SweepLayout, states: [ParameterState?],
        fresh: Set<Int>, split: [Int: UnsafeMutablePointer<Float>], chunks: Int, pool: ThreadPool
    )
}

extension UpdateRule {
    public static var countsSteps: Bool { true }
    public static var hasModes: Bool { false }
    public static func advance(_ counters: inout Counters, options: Options) {}
    public static func changeMode(
        to mode: OptimizerMode, options: Options, param: UnsafeMutablePointer<Float>, state: StatePointers, count: Int
    ) {}
    public static func initialValue(ofBuffer index: Int, options: Options) -> Float { 0 }
    public static func storage(_ options: Options) -> StateStorage { .float32 }

    /// The buffers' names, in ``buffers``' order.
    public static var stateBuffers: [StateBufferName] { buffers.map(\.name) }
}
