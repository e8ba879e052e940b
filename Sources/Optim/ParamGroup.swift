/// A list of parameters with their own hyperparameters, like an entry of PyTorch's `param_groups`.
///
/// Every option an optimizer reads lives here; an optimizer ignores the options it has no use for (SGD never reads
/// `betas`). Options that the initializer is not given take the optimizer's defaults when the group is added, so
///
/// ```swift
/// let optimizer = try AdamW([ParamGroup(params: weights), ParamGroup(params: biases, weightDecay: 0)], lr: 1e-3)
/// optimizer.paramGroups[1].lr = 5e-4           // between steps, as a scheduler does
/// ```
///
/// gives both groups lr 1e-3 and the biases no decay. Before it is added to an optimizer, an unset option reads as
/// PyTorch's default for Adam/AdamW.
public struct ParamGroup {
    public var params: [Parameter]
    /// The learning rate.
    public var lr: Double { didSet { explicit.insert(.lr) } }
    /// Adam's (β1, β2): decay rates of the first and second moment estimates.
    public var betas: (Double, Double) { didSet { explicit.insert(.betas) } }
    /// Adam's ε, added to the denominator.
    public var eps: Double { didSet { explicit.insert(.eps) } }
    /// λ: decoupled decay for AdamW (and Adam with ``decoupledWeightDecay``), coupled L2 for Adam and SGD.
    public var weightDecay: Double { didSet { explicit.insert(.weightDecay) } }
    /// Adam: keep the running maximum of the second moment (Reddi et al., 2018).
    public var amsgrad: Bool { didSet { explicit.insert(.amsgrad) } }
    /// Maximize the objective instead of minimizing it.
    public var maximize: Bool { didSet { explicit.insert(.maximize) } }
    /// Adam: decay the weights directly (AdamW) instead of adding λθ to the gradient.
    public var decoupledWeightDecay: Bool { didSet { explicit.insert(.decoupledWeightDecay) } }
    /// How decoupled decay scales with the learning rate; see ``WeightDecayConvention``.
    public var decayConvention: WeightDecayConvention { didSet { explicit.insert(.decayConvention) } }
    /// The learning rate the schedule multiplies (PyTorch's `initial_lr`): the group's `lr` when it was added to
    /// an optimizer, unless given. ``WeightDecayConvention/scheduleScaled`` decays by `lr / initialLR · λ`.
    public var initialLR: Double { didSet { explicit.insert(.initialLR) } }
    /// SGD's momentum factor μ.
    public var momentum: Double { didSet { explicit.insert(.momentum) } }
    /// SGD's dampening for momentum.
    public var dampening: Double { didSet { explicit.insert(.dampening) } }
    /// SGD: use Nesterov momentum.
    public var nesterov: Bool { didSet { explicit.insert(.nesterov) } }

    /// The options that were set on this group rather than taken from an optimizer's defaults.
    public private(set) var explicit: Set<Option>
    /// Whether a scheduler has taken ``initialLR`` as its base (PyTorch's `setdefault("initial_lr", lr)`): the
    /// first scheduler sets it to the current `lr`, later ones keep it.
    var initialLRClaimed = false

    /// The names of a group's options.
    public enum Option: Hashable, CaseIterable, Sendable {
        case lr, betas, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay, decayConvention, initialLR
        case momentum, dampening, nesterov
    }

    /// A group of `params`; every option left nil takes the optimizer's default.
    public init(
        params: [Parameter], lr: Double? = nil, betas: (Double, Double)? = nil, eps: Double? = nil,
        weightDecay: Double? = nil, amsgrad: Bool? = nil, maximize: Bool? = nil,
        decoupledWeightDecay: Bool? = nil, decayConvention: WeightDecayConvention? = nil,
        initialLR: Double? = nil, momentum: Double? = nil, dampening: Double? = nil, nesterov: Bool? = nil
    ) {
        self.params = params
        self.lr = lr ?? 1e-3
        self.betas = betas ?? (0.9, 0.999)
        self.eps = eps ?? 1e-8
        self.weightDecay = weightDecay ?? 0
        self.amsgrad = amsgrad ?? false
        self.maximize = maximize ?? false
        self.decoupledWeightDecay = decoupledWeightDecay ?? false
        self.decayConvention = decayConvention ?? .learningRateScaled
        self.initialLR = initialLR ?? lr ?? 1e-3
        self.momentum = momentum ?? 0
        self.dampening = dampening ?? 0
        self.nesterov = nesterov ?? false
        var given = Set<Option>()
        if lr != nil { given.insert(.lr) }
        if betas != nil { given.insert(.betas) }
        if eps != nil { given.insert(.eps) }
        if weightDecay != nil { given.insert(.weightDecay) }
        if amsgrad != nil { given.insert(.amsgrad) }
        if maximize != nil { given.insert(.maximize) }
        if decoupledWeightDecay != nil { given.insert(.decoupledWeightDecay) }
        if decayConvention != nil { given.insert(.decayConvention) }
        if initialLR != nil { given.insert(.initialLR) }
        if momentum != nil { given.insert(.momentum) }
        if dampening != nil { given.insert(.dampening) }
        if nesterov != nil { given.insert(.nesterov) }
        explicit = given
    }

    /// This group with every option it was not given taken from `defaults`; `initialLR` follows the resolved
    /// `lr` unless it was given.
    func filled(from defaults: ParamGroup) -> ParamGroup {
        var group = defaults
        group.params = params
        for option in explicit {
            switch option {
            case .lr: group.lr = lr
            case .betas: group.betas = betas
            case .eps: group.eps = eps
            case .weightDecay: group.weightDecay = weightDecay
            case .amsgrad: group.amsgrad = amsgrad
            case .maximize: group.maximize = maximize
            case .decoupledWeightDecay: group.decoupledWeightDecay = decoupledWeightDecay
            case .decayConvention: group.decayConvention = decayConvention
            case .initialLR: group.initialLR = initialLR
            case .momentum: group.momentum = momentum
            case .dampening: group.dampening = dampening
            case .nesterov: group.nesterov = nesterov
            }
        }
        if !explicit.contains(.initialLR) { group.initialLR = group.lr }
        group.explicit = Set(Option.allCases)
        return group
    }
}
