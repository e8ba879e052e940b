/// The math of one optimizer, and nothing else: its options, its state buffers, and the fused kernel of one step.
///
/// Everything an optimizer shares — parameter groups, validation, skipping parameters without a gradient, the
/// non-finite policy, creating state, the parallel sweep over every parameter, state dicts — lives once, in
/// ``RuleOptimizer``. A new optimizer is an options type and a rule (see `RMSprop.swift`); its state buffers are
/// declared here by name, so state dicts, checkpoints and a future storage type need no code of its own.
public protocol UpdateRule: Sendable {
    associatedtype Options: OptimizerOptions
    /// The fused per-element update; one instance per (group, step) carries the step's scalars.
    associatedtype Kernel: SweepKernel

    /// PyTorch's class name, used in state dicts and messages: `AdamW`, `Adam`, `SGD`, `RMSprop`, `Adagrad`.
    static var name: String { get }
    /// PyTorch's defaults for this optimizer.
    static var defaults: Options { get }
    /// Every state buffer this optimizer can keep, by PyTorch's name, in a fixed order (at most four).
    static var stateBuffers: [StateBufferName] { get }
    /// Whether the rule counts steps in ``ParameterState/step`` (SGD does not, as PyTorch).
    static var countsSteps: Bool { get }

    /// Whether buffer `index` of ``stateBuffers`` is kept for a group with `options` (amsgrad's maximum only with
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

    /// The kernel of a step: `step` is the parameter's step count after this step (1-based; 0 when the rule does
    /// not count), `freshState` whether its buffers were created for this step.
    static func kernel(_ options: Options, initialLR: Double, step: Int, freshState: Bool) -> Kernel
    /// The kernel's memory for one parameter; `state[i]` is buffer i of ``stateBuffers``, nil when unused.
    static func streams(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, state: StatePointers
    ) -> Kernel.Streams

    /// One step over every parameter that has a gradient, as one parallel sweep: each of `chunks` threads takes
    /// an even share of the elements of `layout`, counts the steps of the parameters that start in it, and runs
    /// the kernel over its part of each parameter. `states` holds each parameter's state in layout order
    /// (created already); `fresh` the positions whose buffers were created for this step; `split` the
    /// parameters that fall in more than one chunk, by position, with their values' memory: the caller has
    /// counted their steps and made their values unique already, so that no two threads write one parameter's
    /// bookkeeping. The default is
    /// the only implementation a rule needs; it is a requirement so that it runs specialized for each rule
    /// (generic, its bookkeeping costs more than a small tensor's update).
    static func sweep(
        _ groups: [ParamGroup<Options>], layout: SweepLayout, states: [ParameterState?], fresh: Set<Int>,
        split: [Int: UnsafeMutablePointer<Float>], chunks: Int, pool: ThreadPool
    )
}

extension UpdateRule {
    public static var countsSteps: Bool { true }
    public static func initialValue(ofBuffer index: Int, options: Options) -> Float { 0 }
    public static func storage(_ options: Options) -> StateStorage { .float32 }

    public static func sweep(
        _ groups: [ParamGroup<Options>], layout: SweepLayout, states: [ParameterState?], fresh: Set<Int>,
        split: [Int: UnsafeMutablePointer<Float>], chunks: Int, pool: ThreadPool
    ) {
        // Per group: which buffers its options use (the others are nil for the kernel).
        let used: [StatePointers] = groups.map { group in
            var used = StatePointers()
            for slot in stateBuffers.indices where uses(buffer: slot, options: group.options) {
                used[slot] = UnsafeMutablePointer(bitPattern: 1)
            }
            return used
        }
        // Plain values and buffers only inside the loop: reading a group (which holds arrays) or an array of the
        // layout there would retain and release it per parameter.
        let options = groups.map(\.options), initialLRs = groups.map(\.initialLR)
        layout.starts.withUnsafeBufferPointer { starts in
        layout.groupOf.withUnsafeBufferPointer { groupOf in
        // Parameters and states are read as unretained references (a class reference and an `Unmanaged` share a
        // layout) and used at +0: the arrays hold every object for the whole call, and a retain and release per
        // object per step (atomic, on cold cache lines) costs more than a small tensor's update.
        layout.parameters.withUnsafeBytes { parameterBytes in
        states.withUnsafeBytes { stateBytes in
            let parameters = parameterBytes.bindMemory(to: Unmanaged<Parameter>.self)
            let states = stateBytes.bindMemory(to: Optional<Unmanaged<ParameterState>>.self)
            let path = CPUPath.current
            pool.run(tasks: chunks) { chunk in
                let range = layout.chunk(chunk, of: chunks)
                guard !range.isEmpty || chunk == chunks - 1 else { return }
                // Parameters of a group that share a step count share the kernel's scalars: computed once.
                var cached: (group: Int, step: Int, fresh: Bool, kernel: Kernel)?
                var position = layout.firstParameter(from: range.lowerBound)
                while position < parameters.count, starts[position] < range.upperBound
                    || (chunk == chunks - 1 && position < parameters.count) {
                    defer { position += 1 }
                    guard let stateReference = states[position] else { continue }
                    let start = starts[position], group = groupOf[position]
                    // The chunk a parameter starts in counts its step; one split between chunks was counted by
                    // the caller, so that no two threads write one count.
                    let splitValues = split.isEmpty ? nil : split[position]
                    let isFresh = !fresh.isEmpty && fresh.contains(position)
                    parameters[position]._withUnsafeGuaranteedRef { parameter in
                        stateReference._withUnsafeGuaranteedRef { state in
                            guard let grad = parameter.gradientPointer else { return }
                            if countsSteps && splitValues == nil { state.step += 1 }
                            let kernel: Kernel
                            if let cached, cached.group == group, cached.step == state.step, cached.fresh == isFresh {
                                kernel = cached.kernel
                            } else {
                                kernel = self.kernel(options[group], initialLR: initialLRs[group], step: state.step,
                                                     freshState: isFresh)
                                cached = (group, state.step, isFresh, kernel)
                            }
                            let lower = max(range.lowerBound - start, 0)
                            let upper = min(range.upperBound - start, parameter.count)
                            guard lower < upper else { return }
                            var pointers = state.pointers
                            for slot in 0..<StatePointers.capacity where used[group][slot] == nil { pointers[slot] = nil }
                            kernel.run(streams(param: splitValues ?? parameter.valuesPointer(), grad: grad,
                                               state: pointers), lower..<upper, path: path)
                        }
                    }
                }
            }
        }
        }
        }
        }
    }
}

/// The state buffers of one parameter, as pointers for a kernel, in its rule's order: each buffer's memory (its
/// values, or in another ``storage`` its bfloat16 values or codes) and, when quantized, its block scales.
public struct StatePointers {
    private var pointers: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
                           UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) = (nil, nil, nil, nil)
    private var scales: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
                         UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) = (nil, nil, nil, nil)
    /// How the buffers are stored (all of one parameter's alike).
    public var storage: StateStorage = .float32
    /// The most buffers a rule may declare.
    public static let capacity = 4

    init() {}

    /// The block scales of buffer `index` (quantized storage), or nil.
    public func scales(_ index: Int) -> UnsafeMutablePointer<Float>? {
        switch index {
        case 0: scales.0
        case 1: scales.1
        case 2: scales.2
        case 3: scales.3
        default: nil
        }
    }

    mutating func setScales(_ pointer: UnsafeMutablePointer<Float>?, at index: Int) {
        switch index {
        case 0: scales.0 = pointer
        case 1: scales.1 = pointer
        case 2: scales.2 = pointer
        case 3: scales.3 = pointer
        default: break
        }
    }

    public subscript(index: Int) -> UnsafeMutablePointer<Float>? {
        get {
            switch index {
            case 0: pointers.0
            case 1: pointers.1
            case 2: pointers.2
            case 3: pointers.3
            default: nil
            }
        }
        set {
            switch index {
            case 0: pointers.0 = newValue
            case 1: pointers.1 = newValue
            case 2: pointers.2 = newValue
            case 3: pointers.3 = newValue
            default: break
            }
        }
    }
}
