extension SIMD16 where Scalar == Float {
    /// Loads 16 elements from possibly unaligned memory.
    @inlinable @inline(always)
    public static func load(_ pointer: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(pointer).loadUnaligned(as: Self.self)
    }

    @inlinable @inline(always)
    public static func load(_ pointer: UnsafeMutablePointer<Float>) -> Self {
        UnsafeRawPointer(pointer).loadUnaligned(as: Self.self)
    }

    /// Loads the first `count` (0...16) elements; the other lanes are 0. For a loop's last, partial vector.
    @inlinable @inline(always)
    public static func load(_ pointer: UnsafePointer<Float>, count: Int) -> Self {
        var vector = Self()
        for lane in 0..<count { vector[lane] = pointer[lane] }
        return vector
    }

    /// Stores 16 elements to possibly unaligned memory.
    @inlinable @inline(always)
    public func store(to pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: Self.self)
    }

    /// Stores the first `count` (0...16) lanes.
    @inlinable @inline(always)
    public func store(to pointer: UnsafeMutablePointer<Float>, count: Int) {
        for lane in 0..<count { pointer[lane] = self[lane] }
    }

    /// The lane-wise maximum, NaN when either lane is NaN (like `torch.maximum`).
    @inline(__always)
    func nanPropagatingMax(_ other: Self) -> Self {
        let larger = replacing(with: other, where: self .< other)
        return larger.replacing(with: other, where: other .!= other)
    }
}

/// Up to five memory streams of one kernel; nil for a stream the kernel does not use.
typealias TailStreams = (
    UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
    UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?
)

/// Runs a kernel's last `lanes` (< 16) elements as one whole vector: copies them from each stream at `offset`
/// into zero-padded 16-element scratch memory on the stack, calls `body` with the scratch streams, and copies
/// them back, except the first `readOnly` streams. Kernels keep their vector body free of partial loads this way.
@inline(__always)
func withZeroPaddedTail(streams: TailStreams, readOnly: Int, offset: Int, lanes: Int, _ body: (TailStreams) -> Void) {
    let width = SIMD16<Float>.scalarCount
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 5 * width) { scratch in
        guard let base = scratch.baseAddress else { return }
        base.initialize(repeating: 0, count: 5 * width)
        func slot(_ k: Int, _ stream: UnsafeMutablePointer<Float>?) -> UnsafeMutablePointer<Float>? {
            guard let stream else { return nil }
            (base + k * width).update(from: stream + offset, count: lanes)
            return base + k * width
        }
        func back(_ k: Int, _ stream: UnsafeMutablePointer<Float>?) {
            if let stream, k >= readOnly { (stream + offset).update(from: base + k * width, count: lanes) }
        }
        body((slot(0, streams.0), slot(1, streams.1), slot(2, streams.2), slot(3, streams.3), slot(4, streams.4)))
        back(0, streams.0); back(1, streams.1); back(2, streams.2); back(3, streams.3); back(4, streams.4)
    }
}
