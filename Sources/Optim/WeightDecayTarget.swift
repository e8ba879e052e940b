/// What weight decay pulls the weights toward: zero, as `torch.optim.AdamW`, or a reference point (decay toward the
/// pretrained weights when fine-tuning; "prior" or "init" weight decay, and L2-SP for coupled decay).
///
/// With a reference θ_ref, decoupled decay (AdamW) is θ ← θ_ref + (θ − θ_ref)·(1 − lr·λ), computed in PyTorch's
/// order `θ.sub_(ref).mul_(1 − lr·λ).add_(ref)`, and coupled decay (Adam's L2) adds λ·(θ − θ_ref) to the gradient.
/// The reference is optimizer state (`decay_reference`, float32 whatever the storage): saved, resumed and sharded
/// with the moments.
public enum WeightDecayTarget: String, Sendable, Equatable, CaseIterable {
    /// Decay toward zero: today's AdamW, bit for bit (no reference is kept).
    case zero
    /// Decay toward the values each parameter holds when its reference is created: at its first step (the values
    /// it had when the optimizer was built, unless changed since), or at the first step after its group turned
    /// `decay_to` on or its weight decay from 0 (then the values of that moment); unless a reference is given for
    /// it with ``RuleOptimizer/setDecayReference(_:for:)``. Taken at a step, a ZeRO-1 process keeps the references of
    /// the parameters it owns only, as it does their moments.
    case initial
}
