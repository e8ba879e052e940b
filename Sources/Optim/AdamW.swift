/// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, ICLR 2019), as `torch.optim.AdamW`.
///
/// Each step first shrinks every weight by the same factor, θ ← θ·(1 − lr·λ), and then takes Adam's step without
/// any decay in the gradient, so the decay is not distorted by Adam's per-weight scaling. It is ``Adam`` with
/// `decoupledWeightDecay: true` and a default λ of 0.01.
///
/// ```swift
/// let optimizer = try AdamW([weight, bias], lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weightDecay: 0.01)
/// try optimizer.step()
/// optimizer.zeroGrad()
/// ```
public typealias AdamW = RuleOptimizer<AdamWRule>

/// AdamW's math: Adam's (``AdamRule``), with PyTorch's AdamW defaults.
public enum AdamWRule: DerivedRule {
    public typealias Base = AdamRule
    public static let name = "AdamW"
    public static var defaults: AdamOptions {
        var options = AdamOptions()
        options.weightDecay = 0.01
        options.decoupledWeightDecay = true
        return options
    }
}

extension RuleOptimizer where Rule == AdamWRule {
    /// Creates AdamW over parameter groups; each option given here (nil: PyTorch's
    /// default) is the default for groups that do not set it.
    public convenience init(
        _ groups: [ParamGroup<AdamOptions>], lr: Double? = nil, betas: (Double, Double)? = nil,
        eps: Double? = nil, weightDecay: Double? = nil, amsgrad: Bool? = nil, maximize: Bool? = nil,
        decayConvention: WeightDecayConvention? = nil, decayTo: WeightDecayTarget? = nil,
        states: StateStorage? = nil
    ) throws(OptimError) {
        let defaults = AdamWRule.defaults.replacing(
            lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize,
            decoupledWeightDecay: nil, decayConvention: decayConvention, decayTo: decayTo, states: states)
        try self.init(groups: groups, defaults: defaults)
    }

    /// Creates AdamW over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double? = nil, betas: (Double, Double)? = nil, eps: Double? = nil,
        weightDecay: Double? = nil, amsgrad: Bool? = nil, maximize: Bool? = nil,
        decayConvention: WeightDecayConvention? = nil, decayTo: WeightDecayTarget? = nil,
        states: StateStorage? = nil
    ) throws(OptimError) {
        try self.init(
            [ParamGroup(params: params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
            amsgrad: amsgrad, maximize: maximize, decayConvention: decayConvention, decayTo: decayTo, states: states)
    }
}
