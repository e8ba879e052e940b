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
public final class AdamW: Adam {
    /// Creates AdamW over parameter groups; each option given here is the default for groups that do not set it.
    public init(
        _ groups: [ParamGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0.01, amsgrad: Bool = false, maximize: Bool = false,
        decayConvention: WeightDecayConvention = .learningRateScaled
    ) throws(OptimError) {
        try super.init(
            groups, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize,
            decoupledWeightDecay: true, decayConvention: decayConvention)
    }

    /// Creates AdamW over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0.01, amsgrad: Bool = false, maximize: Bool = false,
        decayConvention: WeightDecayConvention = .learningRateScaled
    ) throws(OptimError) {
        try self.init(
            [ParamGroup(params: params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
            amsgrad: amsgrad, maximize: maximize, decayConvention: decayConvention)
    }
}
