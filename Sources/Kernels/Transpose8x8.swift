/// An 8×8 block of Floats transposed in registers.
///
/// Reading a row-major 8×8 block as one 64-element array, splitting it into its even and odd elements rotates
/// the 6-bit element index right by one bit; three such "unshuffles" rotate it by three bits, which swaps the row
/// and column halves of the index: a transpose. Each unshuffle is eight two-register shuffles, so the block costs
/// about 24 shuffles instead of 64 scalar loads and stores.
enum Transpose8x8 {
    typealias Row = SIMD8<Float>
    typealias Block = (Row, Row, Row, Row, Row, Row, Row, Row)

    /// Writes the transpose of the 8×8 block at `source` (rows `stride` apart) to `target` (rows `targetStride`
    /// apart).
    @inline(__always)
    static func copy(
        from source: UnsafePointer<Float>, stride: Int, to target: UnsafeMutablePointer<Float>, stride targetStride: Int
    ) {
        @inline(__always) func load(_ r: Int) -> Row { UnsafeRawPointer(source + r * stride).loadUnaligned(as: Row.self) }
        var block = (load(0), load(1), load(2), load(3), load(4), load(5), load(6), load(7))
        unshuffle(&block)
        unshuffle(&block)
        unshuffle(&block)
        @inline(__always) func store(_ r: Int, _ row: Row) {
            UnsafeMutableRawPointer(target + r * targetStride).storeBytes(of: row, as: Row.self)
        }
        store(0, block.0); store(1, block.1); store(2, block.2); store(3, block.3)
        store(4, block.4); store(5, block.5); store(6, block.6); store(7, block.7)
    }

    @inline(__always)
    static func unshuffle(_ v: inout Block) {
        let p0 = SIMD16(lowHalf: v.0, highHalf: v.1), p1 = SIMD16(lowHalf: v.2, highHalf: v.3)
        let p2 = SIMD16(lowHalf: v.4, highHalf: v.5), p3 = SIMD16(lowHalf: v.6, highHalf: v.7)
        v = (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf)
    }
}
