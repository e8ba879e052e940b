/// What every optimizer offers, whatever its math: `step()`, `zeroGrad()`, its parameters, state by name, and
/// the learning rates a scheduler moves. ``AdamW``, ``Adam``, ``SGD``, ``RMSprop`` and ``Adagrad`` are
/// ``RuleOptimizer``s (whose `step` throws only ``OptimError`` and whose `stateDict` does not throw); the ZeRO-1
/// `ShardedOptimizer` of DataParallel is one too, its step and state dict collective. Code that takes "an
/// optimizer" takes `any Optimizer`.
public protocol Optimizer: AnyObject {
    /// PyTorch's class name: `AdamW`, `Adam`, `SGD`, `RMSprop`, `Adagrad`.
    var name: String { get }
    /// Every parameter, in group order.
    var parameters: [Parameter] { get }
    /// What a step does when a gradient holds NaN or ±infinity; see ``NonFiniteGradientPolicy``.
    var nonFiniteGradients: NonFiniteGradientPolicy { get set }
    /// The steps skipped because of non-finite gradients (with ``NonFiniteGradientPolicy/skip``).
    var skippedSteps: Int { get }
    /// Each group's learning rate and what a scheduler keeps with it, in group order. Setting it changes the
    /// groups' `lr`, `initialLR` and (where the options have one) the momentum that one-cycle schedules cycle.
    var groupSchedules: [GroupSchedule] { get set }

    /// Performs one step over every parameter that has a gradient; atomic with respect to errors (an
    /// ``OptimError``; a sharded optimizer can also fail to reach another process).
    func step() throws
    /// Drops every gradient (`setToNone`, PyTorch's default) or sets them to zero.
    func zeroGrad(setToNone: Bool)
    /// The state kept for `parameter`, or nil if it has never been stepped.
    func state(for parameter: Parameter) -> ParameterState?
    /// Options, step counts and buffers by parameter name, as PyTorch's `state_dict()` (collective, and able to
    /// fail, for a sharded optimizer).
    func stateDict() throws -> StateDict
    /// Restores ``stateDict()``; changes nothing when it does not fit.
    func load(stateDict: StateDict) throws(StateMismatch)

    /// Which value the parameters hold: always train for an optimizer without modes (every one but
    /// Schedule-Free's, whose eval values are the average it evaluates at).
    var mode: OptimizerMode { get }
    /// Puts the parameters at the values gradients are taken at, as PyTorch's Schedule-Free `optimizer.train()`;
    /// nothing for an optimizer without modes (collective for a sharded one).
    func train() throws
    /// Puts the parameters at the values to evaluate, sample or save, as `optimizer.eval()`; nothing for an
    /// optimizer without modes (collective for a sharded one).
    func eval() throws
}

extension Optimizer {
    /// Drops every gradient, as PyTorch's `zero_grad()` (`set_to_none=True`).
    public func zeroGrad() { zeroGrad(setToNone: true) }

    /// The bytes of state (buffers and scales) kept for `parameters`.
    public func stateByteCount(of parameters: [Parameter]) -> Int {
        parameters.reduce(0) { $0 + (state(for: $1)?.byteCount ?? 0) }
    }
}

/// One parameter group as a learning-rate scheduler sees it.
public struct GroupSchedule: Sendable, Equatable {
    /// The learning rate of the next step.
    public var lr: Double
    /// The rate the schedule multiplies (PyTorch's `initial_lr`).
    public var initialLR: Double
    /// Whether a scheduler has taken ``initialLR`` as its base already.
    public var initialLRClaimed: Bool
    /// The momentum a one-cycle schedule cycles (β1 for Adam, `momentum` for SGD and RMSprop); nil when the
    /// optimizer has none.
    public var momentum: Double?
}
