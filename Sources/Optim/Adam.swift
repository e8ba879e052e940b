/// Adam (Kingma & Ba, 2015), with coupled L2 weight decay by default, as `torch.optim.Adam`.
///
/// With `weightDecay` λ, Adam adds λθ to the gradient before the moments, so the decay is divided by √v̂ like the
/// gradient: weights with a large gradient history are decayed less. With `decoupledWeightDecay: true` it decays
/// the weights directly instead, and is exactly ``AdamW``.
///
/// Per step t, for each parameter θ with gradient g (see ``AdamStep`` for the fused kernel):
///
///     g ← −g (maximize);  θ ← θ(1 − lr·λ) (decoupled) or g ← g + λθ (coupled)
///     m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²;   v̂ ← max(v̂, v) with amsgrad
///     θ ← θ − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
open class Adam: Optimizer {
    /// Creates Adam over parameter groups; each option given here is the default for groups that do not set it.
    public init(
        _ groups: [ParamGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
        decoupledWeightDecay: Bool = false, decayConvention: WeightDecayConvention = .learningRateScaled
    ) throws(OptimError) {
        let defaults = ParamGroup(
            params: [], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad,
            maximize: maximize, decoupledWeightDecay: decoupledWeightDecay, decayConvention: decayConvention)
        try super.init(groups: groups, defaults: defaults)
    }

    /// Creates Adam over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
        decoupledWeightDecay: Bool = false, decayConvention: WeightDecayConvention = .learningRateScaled
    ) throws(OptimError) {
        try self.init(
            [ParamGroup(params: params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
            amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: decoupledWeightDecay,
            decayConvention: decayConvention)
    }

    open override func validate(_ group: ParamGroup) throws(OptimError) {
        try Self.requireNonNegative(group.lr, else: OptimError.invalidLearningRate)
        try Self.requireNonNegative(group.eps, else: OptimError.invalidEpsilon)
        guard group.betas.0 >= 0 && group.betas.0 < 1 else { throw .invalidBeta(index: 0, value: group.betas.0) }
        guard group.betas.1 >= 0 && group.betas.1 < 1 else { throw .invalidBeta(index: 1, value: group.betas.1) }
        try Self.requireNonNegative(group.weightDecay, else: OptimError.invalidWeightDecay)
        if group.decoupledWeightDecay && group.decayConvention == .scheduleScaled {
            guard group.initialLR.isFinite, group.initialLR > 0 else {
                throw .invalidInitialLearningRate(group.initialLR)
            }
        }
    }

    /// Both moments exist once a parameter has stepped (v̂max only with amsgrad, which a group may turn on later).
    open override func requiredStateBuffers(step: Int) -> [String] {
        step > 0 ? ["exp_avg", "exp_avg_sq"] : []
    }

    open override func update(_ parameter: Parameter, state: ParameterState, group: ParamGroup) {
        guard let grad = parameter.grad else { return }
        let count = parameter.count
        state.step += 1
        let decoupled = group.decoupledWeightDecay && group.weightDecay != 0
        let kernel = AdamStep(
            lr: group.lr, beta1: group.betas.0, beta2: group.betas.1, eps: group.eps, step: state.step,
            decoupledDecay: decoupled
                ? group.decayConvention.decayFactor(lr: group.lr, initialLR: group.initialLR,
                                                    weightDecay: group.weightDecay)
                : nil,
            l2: group.decoupledWeightDecay ? 0 : group.weightDecay,
            amsgrad: group.amsgrad, maximize: group.maximize)
        parameter.values.withUnsafeMutablePointer { theta in
            grad.withUnsafePointer { g in
                state.withBuffer(\.expAvg, count: count) { m in
                    state.withBuffer(\.expAvgSq, count: count) { v in
                        if group.amsgrad {
                            state.withBuffer(\.maxExpAvgSq, count: count) { vMax in
                                kernel.apply(param: theta, grad: g, expAvg: m, expAvgSq: v, maxExpAvgSq: vMax, count: count)
                            }
                        } else {
                            kernel.apply(param: theta, grad: g, expAvg: m, expAvgSq: v, maxExpAvgSq: nil, count: count)
                        }
                    }
                }
            }
        }
    }
}
