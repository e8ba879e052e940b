/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, as `torch.optim.SGD`.
///
/// Per step, for each parameter θ with gradient g (see `SGDStep` for the fused kernel):
///
///     g ← −g (maximize);  g ← g + λθ
///     b ← g on the first step, then b ← μ·b + (1 − dampening)·g
///     g ← g + μ·b (nesterov) or g ← b;   θ ← θ − lr·g
public typealias SGD = RuleOptimizer<SGDRule>

/// The options of ``SGD``, with PyTorch's defaults.
public struct SGDOptions: OptimizerOptions {
    public var lr = 1e-3
    /// μ, the momentum factor.
    public var momentum = 0.0
    /// Dampening for momentum.
    public var dampening = 0.0
    /// λ, L2 weight decay added to the gradient.
    public var weightDecay = 0.0
    /// Use Nesterov momentum.
    public var nesterov = false
    /// Maximize the objective instead of minimizing it.
    public var maximize = false

    public init() {}

    public var cycledMomentum: Double? {
        get { momentum }
        set { if let newValue { momentum = newValue } }
    }

    public static let fields: [OptionField<SGDOptions>] = [
        .number("lr", \.lr, help: "Learning rate."),
        .number("momentum", \.momentum, help: "Momentum factor μ."),
        .number("dampening", \.dampening, help: "Dampening for momentum."),
        .number("weight_decay", \.weightDecay, help: "L2 weight decay λ, added to the gradient."),
        .flag("nesterov", \.nesterov, help: "Use Nesterov momentum."),
        .flag("maximize", \.maximize, help: "Maximize the objective instead of minimizing it."),
    ]

    public func validate(initialLR: Double) throws(OptimError) {
        try Self.requireNonNegative(lr, else: OptimError.invalidLearningRate)
        try Self.requireNonNegative(momentum, else: OptimError.invalidMomentum)
        try Self.requireNonNegative(weightDecay, else: OptimError.invalidWeightDecay)
        guard dampening.isFinite else { throw .invalidDampening(dampening) }
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw .nesterovRequiresMomentumWithoutDampening(momentum: momentum, dampening: dampening)
        }
    }
}

/// SGD's math, fused in `SGDStep`. PyTorch keeps no step count for SGD, only the momentum buffer.
public enum SGDRule: UpdateRule {
    public static let name = "SGD"
    public static var defaults: SGDOptions { SGDOptions() }
    public static let buffers: [StateBufferDeclaration] = [.signed(.momentumBuffer)]
    public static var countsSteps: Bool { false }

    public static func uses(buffer index: Int, options: SGDOptions) -> Bool { options.momentum != 0 }

    public static func requiredBuffers(step: Int, options: SGDOptions) -> [Int] { [] }

    public static func kernel(
        _ options: SGDOptions, counters: NoGroupCounters, initialLR: Double, step: Int, freshState: Bool
    ) -> SGDStep {
        SGDStep(
            lr: options.lr, momentum: options.momentum, dampening: options.dampening,
            weightDecay: options.weightDecay, nesterov: options.nesterov, maximize: options.maximize,
            initializesBuffer: options.momentum != 0 && freshState)
    }

    public static func streams(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, state: StatePointers
    ) -> SGDStep.Streams {
        SGDStep.Streams(param: param, grad: grad, momentumBuffer: state[0])
    }
}

extension RuleOptimizer where Rule == SGDRule {
    /// Creates SGD over parameter groups; each option given here (nil: PyTorch's default) is the default for
    /// groups that do not set it.
    public convenience init(
        _ groups: [ParamGroup<SGDOptions>], lr: Double? = nil, momentum: Double? = nil, dampening: Double? = nil,
        weightDecay: Double? = nil, nesterov: Bool? = nil, maximize: Bool? = nil
    ) throws(OptimError) {
        var defaults = SGDOptions()
        defaults.lr = lr ?? defaults.lr
        defaults.momentum = momentum ?? defaults.momentum
        defaults.dampening = dampening ?? defaults.dampening
        defaults.weightDecay = weightDecay ?? defaults.weightDecay
        defaults.nesterov = nesterov ?? defaults.nesterov
        defaults.maximize = maximize ?? defaults.maximize
        try self.init(groups: groups, defaults: defaults)
    }

    /// Creates SGD over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double? = nil, momentum: Double? = nil, dampening: Double? = nil,
        weightDecay: Double? = nil, nesterov: Bool? = nil, maximize: Bool? = nil
    ) throws(OptimError) {
        try self.init([ParamGroup(params: params)], lr: lr, momentum: momentum, dampening: dampening,
                      weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
    }
}
