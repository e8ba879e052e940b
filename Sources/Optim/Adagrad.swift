/// Adagrad (Duchi et al., 2011), as `torch.optim.Adagrad`.
///
/// Per step t of a parameter θ with gradient g (see `AdagradStep` for the fused kernel):
///
///     g ← −g (maximize);  g ← g + λθ
///     clr ← lr / (1 + (t − 1)·lr_decay);   s ← s + g²;   θ ← θ − clr · g / (√s + ε)
///
/// The sum s starts at the optimizer's `initial_accumulator_value` (as in PyTorch, which fills it in the
/// constructor from its own argument: a group's value does not change it). PyTorch creates the state when the
/// optimizer is built; here, as for every optimizer, on a parameter's first step (the same values: a parameter
/// never stepped has nothing but the initial value).
public typealias Adagrad = RuleOptimizer<AdagradRule>

/// The options of ``Adagrad``, with PyTorch's defaults.
public struct AdagradOptions: OptimizerOptions {
    public var lr = 1e-2
    /// The learning rate's decay per step: lr / (1 + (t − 1)·lrDecay).
    public var lrDecay = 0.0
    /// λ, L2 weight decay added to the gradient.
    public var weightDecay = 0.0
    /// The value the sum of squared gradients starts from.
    public var initialAccumulatorValue = 0.0
    /// ε, added to the denominator.
    public var eps = 1e-10
    /// Maximize the objective instead of minimizing it.
    public var maximize = false

    public init() {}

    public static let fields: [OptionField<AdagradOptions>] = [
        .number("lr", \.lr, help: "Learning rate."),
        .number("lr_decay", \.lrDecay, help: "Learning-rate decay: lr / (1 + (t − 1)·lr decay)."),
        .number("weight_decay", \.weightDecay, help: "L2 weight decay λ, added to the gradient."),
        .number("initial_accumulator_value", \.initialAccumulatorValue,
                help: "The starting value of the sum of squared gradients."),
        .number("eps", \.eps, help: "ε, added to the denominator."),
        .flag("maximize", \.maximize, help: "Maximize the objective instead of minimizing it."),
    ]

    public func validate(initialLR: Double) throws(OptimError) {
        try Self.requireNonNegative(lr, else: OptimError.invalidLearningRate)
        try Self.requireNonNegative(eps, else: OptimError.invalidEpsilon)
        try Self.requireNonNegative(weightDecay, else: OptimError.invalidWeightDecay)
        guard lrDecay.isFinite, lrDecay >= 0 else {
            throw .invalidOption(name: "lr_decay", value: lrDecay, valid: "finite and >= 0")
        }
        guard initialAccumulatorValue.isFinite, initialAccumulatorValue >= 0 else {
            throw .invalidOption(name: "initial_accumulator_value", value: initialAccumulatorValue,
                                 valid: "finite and >= 0")
        }
    }
}

/// Adagrad's math, fused in `AdagradStep`. State: `step` and `sum`, as PyTorch's.
public enum AdagradRule: UpdateRule {
    public static let name = "Adagrad"
    public static var defaults: AdagradOptions { AdagradOptions() }
    public static let buffers: [StateBufferDeclaration] = [.nonNegative(.sum)]

    public static func uses(buffer index: Int, options: AdagradOptions) -> Bool { true }

    public static func initialValue(ofBuffer index: Int, options: AdagradOptions) -> Float {
        Float(options.initialAccumulatorValue)
    }

    public static func requiredBuffers(step: Int, options: AdagradOptions) -> [Int] { step > 0 ? [0] : [] }

    public static func kernel(
        _ options: AdagradOptions, counters: NoGroupCounters, initialLR: Double, step: Int, freshState: Bool
    ) -> AdagradStep {
        AdagradStep(lr: options.lr, lrDecay: options.lrDecay, weightDecay: options.weightDecay, eps: options.eps,
                    step: step, maximize: options.maximize)
    }

    public static func streams(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, state: StatePointers
    ) -> AdagradStep.Streams {
        AdagradStep.Streams(param: param, grad: grad, sum: state[0] ?? param)
    }
}

extension RuleOptimizer where Rule == AdagradRule {
    /// Creates Adagrad over parameter groups; each option given here (nil: PyTorch's default) is the default for
    /// groups that do not set it.
    public convenience init(
        _ groups: [ParamGroup<AdagradOptions>], lr: Double? = nil, lrDecay: Double? = nil,
        weightDecay: Double? = nil, initialAccumulatorValue: Double? = nil, eps: Double? = nil,
        maximize: Bool? = nil
    ) throws(OptimError) {
        var defaults = AdagradOptions()
        defaults.lr = lr ?? defaults.lr
        defaults.lrDecay = lrDecay ?? defaults.lrDecay
        defaults.weightDecay = weightDecay ?? defaults.weightDecay
        defaults.initialAccumulatorValue = initialAccumulatorValue ?? defaults.initialAccumulatorValue
        defaults.eps = eps ?? defaults.eps
        defaults.maximize = maximize ?? defaults.maximize
        try self.init(groups: groups, defaults: defaults)
    }

    /// Creates Adagrad over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double? = nil, lrDecay: Double? = nil, weightDecay: Double? = nil,
        initialAccumulatorValue: Double? = nil, eps: Double? = nil, maximize: Bool? = nil
    ) throws(OptimError) {
        try self.init([ParamGroup(params: params)], lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
                      initialAccumulatorValue: initialAccumulatorValue, eps: eps, maximize: maximize)
    }
}
