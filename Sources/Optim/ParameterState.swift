/// What an optimizer keeps for one parameter, under PyTorch's names. Buffers are created on the first step
/// that needs them; a parameter that has never been stepped has no state.
public final class ParameterState {
    /// The number of steps taken with a gradient (Adam, AdamW). SGD leaves it 0, as PyTorch keeps no step for it.
    public internal(set) var step = 0
    /// Adam's first moment estimate m.
    public internal(set) var expAvg: FloatBuffer?
    /// Adam's second moment estimate v.
    public internal(set) var expAvgSq: FloatBuffer?
    /// amsgrad's running maximum of v.
    public internal(set) var maxExpAvgSq: FloatBuffer?
    /// SGD's momentum buffer.
    public internal(set) var momentumBuffer: FloatBuffer?

    init() {}
}

extension ParameterState {
    /// Runs `body` on the buffer at `keyPath`, written in place, creating it (zeros) if it does not exist yet.
    func withBuffer<R>(
        _ keyPath: ReferenceWritableKeyPath<ParameterState, FloatBuffer?>, count: Int,
        _ body: (UnsafeMutablePointer<Float>) throws -> R
    ) rethrows -> R {
        // Taken out of the state while in use, so that it is uniquely referenced and not copied on write.
        var buffer = self[keyPath: keyPath].take() ?? FloatBuffer(count: count)
        defer { self[keyPath: keyPath] = buffer }
        return try buffer.withUnsafeMutablePointer(body)
    }
}
