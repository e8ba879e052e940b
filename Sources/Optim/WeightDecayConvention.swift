/// How decoupled weight decay (AdamW) scales with the learning rate.
///
/// With learning rate `lr` at this step, base learning rate `initialLR` (the group's ``ParamGroup/initialLR``)
/// and decay λ, each step multiplies the weights θ by:
///
/// - ``learningRateScaled``: `θ ← θ · (1 − lr · λ)`. PyTorch's `AdamW` and the default. The decay is tied to the
///   base learning rate: doubling lr doubles the decay per step.
/// - ``scheduleScaled``: `θ ← θ · (1 − (lr / initialLR) · λ)`. Loshchilov & Hutter's paper (η_t·λ with η_t the
///   schedule multiplier) and MosaicML Composer's `DecoupledAdamW`. The decay follows the schedule but not the
///   base learning rate, so good values of lr and λ are less entangled; λ is then typically ~1e-4 rather than 1e-2.
public enum WeightDecayConvention: String, Sendable, Equatable, CaseIterable {
    case learningRateScaled = "lr"
    case scheduleScaled = "schedule"

    /// The factor that multiplies θ at a step with learning rate `lr`: 1 − ``decayRate(lr:initialLR:weightDecay:)``.
    public func decayFactor(lr: Double, initialLR: Double, weightDecay: Double) -> Double {
        1 - decayRate(lr: lr, initialLR: initialLR, weightDecay: weightDecay)
    }

    /// The fraction of θ removed at a step with learning rate `lr`: `lr · λ` or `(lr / initialLR) · λ`.
    public func decayRate(lr: Double, initialLR: Double, weightDecay: Double) -> Double {
        switch self {
        case .learningRateScaled: return lr * weightDecay
        case .scheduleScaled: return (lr / initialLR) * weightDecay
        }
    }
}
