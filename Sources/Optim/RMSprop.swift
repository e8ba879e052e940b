/// RMSprop (Hinton's lecture 6e; centered as Graves, 2013), as `torch.optim.RMSprop`.
///
/// Per step, for each parameter θ with gradient g (see `RMSpropStep` for the fused kernel):
///
///     g ← −g (maximize);  g ← g + λθ
///     s ← α·s + (1 − α)·g²;   centered: ḡ ← lerp(ḡ, g, 1 − α), d ← √(s − ḡ²) + ε,  else d ← √s + ε
///     momentum μ > 0: b ← μ·b + g/d, θ ← θ − lr·b;   else θ ← θ − lr·g/d
public typealias RMSprop = RuleOptimizer<RMSpropRule>

/// The options of ``RMSprop``, with PyTorch's defaults.
public struct RMSpropOptions: OptimizerOptions {
    public var lr = 1e-2
    /// α, the smoothing constant of the running mean of g².
    public var alpha = 0.99
    /// ε, added to the denominator.
    public var eps = 1e-8
    /// λ, L2 weight decay added to the gradient.
    public var weightDecay = 0.0
    /// μ, the momentum factor (0: none).
    public var momentum = 0.0
    /// Normalize by an estimate of the gradient's variance rather than its second moment.
    public var centered = false
    /// Maximize the objective instead of minimizing it.
    public var maximize = false

    public init() {}

    public var cycledMomentum: Double? {
        get { momentum }
        set { if let newValue { momentum = newValue } }
    }

    public static let fields: [OptionField<RMSpropOptions>] = [
        .number("lr", \.lr, help: "Learning rate."),
        .number("alpha", \.alpha, help: "Smoothing constant α of the running mean of g²."),
        .number("eps", \.eps, help: "ε, added to the denominator."),
        .number("weight_decay", \.weightDecay, help: "L2 weight decay λ, added to the gradient."),
        .number("momentum", \.momentum, help: "Momentum factor μ."),
        .flag("centered", \.centered, help: "Normalize by the gradient's estimated variance."),
        .flag("maximize", \.maximize, help: "Maximize the objective instead of minimizing it."),
    ]

    public func validate(initialLR: Double) throws(OptimError) {
        try Self.requireNonNegative(lr, else: OptimError.invalidLearningRate)
        try Self.requireNonNegative(eps, else: OptimError.invalidEpsilon)
        try Self.requireNonNegative(momentum, else: OptimError.invalidMomentum)
        try Self.requireNonNegative(weightDecay, else: OptimError.invalidWeightDecay)
        guard alpha.isFinite, alpha >= 0 else {
            throw .invalidOption(name: "alpha", value: alpha, valid: "finite and >= 0")
        }
    }
}

/// RMSprop's math, fused in `RMSpropStep`. State: `step`, `square_avg`, `momentum_buffer` (momentum > 0) and
/// `grad_avg` (centered), as PyTorch's.
public enum RMSpropRule: UpdateRule {
    public static let name = "RMSprop"
    public static var defaults: RMSpropOptions { RMSpropOptions() }
    public static let buffers: [StateBufferDeclaration] = [.nonNegative(.squareAvg), .signed(.momentumBuffer), .signed(.gradAvg)]

    public static func uses(buffer index: Int, options: RMSpropOptions) -> Bool {
        switch index {
        case 0: true
        case 1: options.momentum > 0
        default: options.centered
        }
    }

    public static func requiredBuffers(step: Int, options: RMSpropOptions) -> [Int] { step > 0 ? [0] : [] }

    public static func kernel(
        _ options: RMSpropOptions, counters: NoGroupCounters, initialLR: Double, step: Int, freshState: Bool
    ) -> RMSpropStep {
        RMSpropStep(lr: options.lr, alpha: options.alpha, eps: options.eps, weightDecay: options.weightDecay,
                    momentum: options.momentum, centered: options.centered, maximize: options.maximize)
    }

    public static func streams(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, state: StatePointers
    ) -> RMSpropStep.Streams {
        RMSpropStep.Streams(param: param, grad: grad, squareAvg: state[0] ?? param, gradAvg: state[2],
                            momentumBuffer: state[1])
    }
}

extension RuleOptimizer where Rule == RMSpropRule {
    /// Creates RMSprop over parameter groups; each option given here (nil: PyTorch's default) is the default for
    /// groups that do not set it.
    public convenience init(
        _ groups: [ParamGroup<RMSpropOptions>], lr: Double? = nil, alpha: Double? = nil, eps: Double? = nil,
        weightDecay: Double? = nil, momentum: Double? = nil, centered: Bool? = nil, maximize: Bool? = nil
    ) throws(OptimError) {
        var defaults = RMSpropOptions()
        defaults.lr = lr ?? defaults.lr
        defaults.alpha = alpha ?? defaults.alpha
        defaults.eps = eps ?? defaults.eps
        defaults.weightDecay = weightDecay ?? defaults.weightDecay
        defaults.momentum = momentum ?? defaults.momentum
        defaults.centered = centered ?? defaults.centered
        defaults.maximize = maximize ?? defaults.maximize
        try self.init(groups: groups, defaults: defaults)
    }

    /// Creates RMSprop over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double? = nil, alpha: Double? = nil, eps: Double? = nil,
        weightDecay: Double? = nil, momentum: Double? = nil, centered: Bool? = nil, maximize: Bool? = nil
    ) throws(OptimError) {
        try self.init([ParamGroup(params: params)], lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay,
                      momentum: momentum, centered: centered, maximize: maximize)
    }
}
