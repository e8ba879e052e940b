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
