/// Adam (Kingma & Ba, 2015), with coupled L2 weight decay by default, as `torch.optim.Adam`.
///
/// With `weightDecay` λ, Adam adds λθ to the gradient before the moments, so the decay is divided by √v̂ like the
/// gradient: weights with a large gradient history are decayed less. With `decoupledWeightDecay: true` it decays
/// the weights directly instead, and is exactly ``AdamW``.
///
/// Per step t, for each parameter θ with gradient g (see `AdamStep` for the fused kernel):
///
///     g ← −g (maximize);  θ ← θ(1 − lr·λ) (decoupled) or g ← g + λθ (coupled)
///     (toward a reference θ_ref, `decayTo`: θ ← θ_ref + (θ − θ_ref)(1 − lr·λ), or g ← g + λ(θ − θ_ref))
///     m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²;   v̂ ← max(v̂, v) with amsgrad
///     θ ← θ − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
public typealias Adam = RuleOptimizer<AdamRule>

/// The options of ``Adam`` and ``AdamW``, with PyTorch's defaults for Adam.
public struct AdamOptions: OptimizerOptions {
    public var lr = 1e-3
    /// (β1, β2): decay rates of the first and second moment estimates.
    public var betas = (0.9, 0.999)
    /// ε, added to the denominator.
    public var eps = 1e-8
    /// λ: decoupled decay for AdamW (and Adam with ``decoupledWeightDecay``), coupled L2 otherwise.
    public var weightDecay = 0.0
    /// Keep the running maximum of the second moment (Reddi et al., 2018).
    public var amsgrad = false
    /// Maximize the objective instead of minimizing it.
    public var maximize = false
    /// Decay the weights directly (AdamW) instead of adding λθ to the gradient.
    public var decoupledWeightDecay = false
    /// How decoupled decay scales with the learning rate; see ``WeightDecayConvention``.
    public var decayConvention = WeightDecayConvention.learningRateScaled
    /// What the decay pulls the weights toward: zero, or a reference point kept as state (``WeightDecayTarget``).
    /// Not a PyTorch option.
    public var decayTo = WeightDecayTarget.zero
    /// How m and v (and v̂max) are stored: float32 (PyTorch's), bfloat16, or torchao's 8-bit or 4-bit block-wise
    /// quantized states (`StateStorage`, in Kernels). Not a PyTorch option.
    public var states = StateStorage.float32

    public init() {}

    /// Whether a reference point is kept: ``decayTo`` is not zero and there is decay to pull toward it (a group
    /// without weight decay, such as the Transformer recipe's biases, keeps none).
    public var decaysTowardReference: Bool { decayTo != .zero && weightDecay != 0 }

    public var cycledMomentum: Double? {
        get { betas.0 }
        set { if let newValue { betas.0 = newValue } }
    }

    public static let fields: [OptionField<AdamOptions>] = [
        .number("lr", \.lr, help: "Learning rate."),
        .pair("betas", \.betas, help: "β1,β2: decay rates of the first and second moment estimates."),
        .number("eps", \.eps, help: "ε, added to the denominator."),
        .number("weight_decay", \.weightDecay, help: "Weight decay λ (decoupled for AdamW, L2 for Adam)."),
        .flag("amsgrad", \.amsgrad, help: "Keep the maximum of the second moment (AMSGrad)."),
        .flag("maximize", \.maximize, help: "Maximize the objective instead of minimizing it."),
        .flag("decoupled_weight_decay", \.decoupledWeightDecay,
              help: "Decay the weights directly (AdamW) instead of adding λθ to the gradient."),
        .choice("decay_convention", \.decayConvention,
                help: "Decoupled decay: lr (PyTorch, θ·(1 − lr·λ)) or schedule (θ·(1 − lr/initial lr·λ)).")
            .requiring("decoupled_weight_decay"),
        .choice("decay_to", \.decayTo,
                help: "What weight decay pulls toward: zero, or initial (each weight's value before its first step; with --init-from, the pretrained weights).")
            .omittedAtDefault(),
        .choice("states", \.states,
                help: "How m and v are stored: fp32, bf16, int8 or int4 (torchao's AdamW8bit and AdamW4bit).")
            .describingStorage(),
    ]

    public func validate(initialLR: Double) throws(OptimError) {
        try Self.requireNonNegative(lr, else: OptimError.invalidLearningRate)
        try Self.requireNonNegative(eps, else: OptimError.invalidEpsilon)
        guard betas.0 >= 0 && betas.0 < 1 else { throw .invalidBeta(index: 0, value: betas.0) }
        guard betas.1 >= 0 && betas.1 < 1 else { throw .invalidBeta(index: 1, value: betas.1) }
        try Self.requireNonNegative(weightDecay, else: OptimError.invalidWeightDecay)
        if decoupledWeightDecay && decayConvention == .scheduleScaled {
            guard initialLR.isFinite, initialLR > 0 else { throw .invalidInitialLearningRate(initialLR) }
        }
    }
}

/// Adam's math: the moments, bias correction, decay and learning rate of one step, fused in `AdamStep`.
public enum AdamRule: UpdateRule {
    public static let name = "Adam"
    public static var defaults: AdamOptions { AdamOptions() }
    public static let buffers: [StateBufferDeclaration] = [
        .signed(.expAvg), .nonNegative(.expAvgSq), .nonNegative(.maxExpAvgSq), .weightsCopy(.decayReference),
    ]

    public static func uses(buffer index: Int, options: AdamOptions) -> Bool {
        switch index {
        case 0, 1: true
        case 2: options.amsgrad
        default: options.decaysTowardReference
        }
    }

    /// Both moments exist once a parameter has stepped (v̂max only with amsgrad, which a group may turn on later);
    /// the decay reference from the start, when the group decays toward one.
    public static func requiredBuffers(step: Int, options: AdamOptions) -> [Int] {
        (step > 0 ? [0, 1] : []) + (options.decaysTowardReference ? [3] : [])
    }

    public static func storage(_ options: AdamOptions) -> StateStorage { options.states }

    public static func kernel(
        _ options: AdamOptions, counters: NoGroupCounters, initialLR: Double, step: Int, freshState: Bool
    ) -> AdamStep {
        let decoupled = options.decoupledWeightDecay && options.weightDecay != 0
        return AdamStep(
            lr: options.lr, beta1: options.betas.0, beta2: options.betas.1, eps: options.eps, step: step,
            decoupledDecay: decoupled
                ? options.decayConvention.decayFactor(lr: options.lr, initialLR: initialLR,
                                                      weightDecay: options.weightDecay)
                : nil,
            l2: options.decoupledWeightDecay ? 0 : options.weightDecay,
            amsgrad: options.amsgrad, maximize: options.maximize)
    }

    public static func streams(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, state: StatePointers
    ) -> AdamStep.Streams {
        // Both moments are always in use; the optimizer has created them before it asks.
        AdamStep.Streams(param: param, grad: grad, expAvg: state[0] ?? param, expAvgSq: state[1] ?? param,
                         maxExpAvgSq: state[2], storage: state.storage, expAvgScales: state.scales(0),
                         expAvgSqScales: state.scales(1), maxExpAvgSqScales: state.scales(2),
                         decayReference: state[3].map { UnsafePointer($0) })
    }
}

extension RuleOptimizer where Rule == AdamRule {
    /// Creates Adam over parameter groups; each option given here (nil: PyTorch's
    /// default) is the default for groups that do not set it.
    public convenience init(
        _ groups: [ParamGroup<AdamOptions>], lr: Double? = nil, betas: (Double, Double)? = nil,
        eps: Double? = nil, weightDecay: Double? = nil, amsgrad: Bool? = nil, maximize: Bool? = nil,
        decoupledWeightDecay: Bool? = nil, decayConvention: WeightDecayConvention? = nil, decayTo: WeightDecayTarget? = nil,
        states: StateStorage? = nil
    ) throws(OptimError) {
        let defaults = AdamRule.defaults.replacing(
            lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize,
            decoupledWeightDecay: decoupledWeightDecay, decayConvention: decayConvention, decayTo: decayTo, states: states)
        try self.init(groups: groups, defaults: defaults)
    }

    /// Creates Adam over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double? = nil, betas: (Double, Double)? = nil, eps: Double? = nil,
        weightDecay: Double? = nil, amsgrad: Bool? = nil, maximize: Bool? = nil,
        decoupledWeightDecay: Bool? = nil, decayConvention: WeightDecayConvention? = nil, decayTo: WeightDecayTarget? = nil,
        states: StateStorage? = nil
    ) throws(OptimError) {
        try self.init(
            [ParamGroup(params: params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
            amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: decoupledWeightDecay,
            decayConvention: decayConvention, decayTo: decayTo, states: states)
    }
}

extension AdamOptions {
    /// These options with each value given replacing the one here (the convenience initializers' defaults).
    func replacing(
        lr: Double?, betas: (Double, Double)?, eps: Double?, weightDecay: Double?, amsgrad: Bool?, maximize: Bool?,
        decoupledWeightDecay: Bool?, decayConvention: WeightDecayConvention?, decayTo: WeightDecayTarget? = nil,
        states: StateStorage? = nil
    ) -> AdamOptions {
        var options = self
        options.lr = lr ?? options.lr
        options.betas = betas ?? options.betas
        options.eps = eps ?? options.eps
        options.weightDecay = weightDecay ?? options.weightDecay
        options.amsgrad = amsgrad ?? options.amsgrad
        options.maximize = maximize ?? options.maximize
        options.decoupledWeightDecay = decoupledWeightDecay ?? options.decoupledWeightDecay
        options.decayConvention = decayConvention ?? options.decayConvention
        options.decayTo = decayTo ?? options.decayTo
        options.states = states ?? options.states
        return options
    }
}
