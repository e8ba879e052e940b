extension RuleOptimizer where Options == AdamOptions {
    /// Makes `values` the point `parameter` decays toward (a pretrained model's tensor, say), instead of its value
    /// at its first step: for a parameter whose group has ``AdamOptions/decayTo`` `.initial` and a weight decay.
    /// Takes effect at the next step; the reference is state, saved and restored with the moments.
    /// - Throws: ``OptimError/noDecayReference(name:reason:)`` for a parameter the optimizer does not hold, or
    ///   whose group decays toward zero or has no weight decay; ``OptimError/decayReferenceMismatch(name:shape:count:)``
    ///   for another number of values; nothing changes then.
    public func setDecayReference(_ values: FloatBuffer, for parameter: Parameter) throws(OptimError) {
        guard let group = paramGroups.first(where: { $0.params.contains { $0 === parameter } }) else {
            throw .noDecayReference(name: parameter.name, reason: "the optimizer does not hold it")
        }
        guard group.options.decayTo != .zero else {
            throw .noDecayReference(name: parameter.name, reason: "its group decays toward zero (decay_to zero)")
        }
        guard group.options.weightDecay != 0 else {
            throw .noDecayReference(name: parameter.name, reason: "its group has no weight decay (weight_decay 0)")
        }
        guard values.count == parameter.count else {
            throw .decayReferenceMismatch(name: parameter.name, shape: parameter.shape, count: values.count)
        }
        guard let slot = Rule.stateBuffers.firstIndex(of: .decayReference) else { return }
        install(StateBuffer(float32: values.withUnsafeBufferPointer { FloatBuffer(copying: $0) }), at: slot, for: parameter)
    }
}
