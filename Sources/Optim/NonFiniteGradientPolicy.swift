/// What ``Optimizer/step()`` does when a gradient holds NaN or ±infinity (a loss spike, an overflow in mixed
/// precision, a division by zero).
///
/// The check costs nothing on the common path for gradients that `backward()` writes: it learns their finiteness
/// while writing them. A gradient set by hand is read once, at the step.
public enum NonFiniteGradientPolicy: String, Sendable, Equatable, CaseIterable, Codable {
    /// Skip the whole step, atomically: no parameter, moment or step count changes. ``Optimizer/skippedSteps``
    /// counts the skips. `adamw train`'s default.
    case skip
    /// Take the step, as PyTorch does: NaN spreads into the parameters and the optimizer state. The library
    /// default, for parity.
    case propagate
    /// Throw ``OptimError/nonFiniteGradient(name:)`` naming the parameter, changing nothing.
    case `throw`
}
