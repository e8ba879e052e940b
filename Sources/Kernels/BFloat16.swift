/// bfloat16: the top 16 bits of a float32 (sign, the same 8 exponent bits, 7 fraction bits). Stored values are
/// rounded to nearest, ties to even (as PyTorch's `.bfloat16()`); a NaN stays a (quiet) NaN.
public enum BFloat16 {
    /// The bfloat16 bits of `x`, rounded to nearest even.
    @inline(__always)
    public static func bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// The float32 value of bfloat16 `bits` (exact).
    @inline(__always)
    public static func value(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// Sixteen bfloat16 values at `pointer` as float32. The lane loop is how LLVM is asked for one `vpmovzxwd`
    /// (widening through `truncatingIfNeeded` is an out-of-line call); a shift makes the floats.
    @inline(__always)
    static func load(_ pointer: UnsafePointer<UInt16>) -> SIMD16<Float> {
        let halves = UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<UInt16>.self)
        var bits = SIMD16<UInt32>()
        for lane in 0..<16 { bits[lane] = UInt32(halves[lane]) }
        return unsafeBitCast(bits &<< 16, to: SIMD16<Float>.self)
    }

    /// Stores sixteen float32 values at `pointer` as bfloat16, rounded to nearest even, and returns the stored
    /// values as float32 (from registers: no reload). Without masks (Swift turns a masked select into a loop over
    /// lanes): a NaN is kept a NaN by OR-ing in its quiet bit (0x0040 of the bfloat16) where the magnitude exceeds
    /// infinity's. The narrowing lane loop becomes one `vpmovdw`.
    @inline(__always)
    @discardableResult
    static func store(_ values: SIMD16<Float>, to pointer: UnsafeMutablePointer<UInt16>) -> SIMD16<Float> {
        let bits = unsafeBitCast(values, to: SIMD16<UInt32>.self)
        var rounded = bits &+ 0x7FFF &+ ((bits &>> 16) & 1)
        // (0x7F800000 − magnitude) is negative for a NaN only: its arithmetic shift is then all ones. A NaN's
        // rounding can carry into the exponent and sign, so its bits are taken unrounded, with the quiet bit.
        let magnitude = unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD16<Int32>.self)
        let isNaN = unsafeBitCast((SIMD16<Int32>(repeating: 0x7F80_0000) &- magnitude) &>> 31, to: SIMD16<UInt32>.self)
        rounded = ((rounded & ~isNaN) | ((bits | 0x0040_0000) & isNaN)) & 0xFFFF_0000
        let shifted = rounded &>> 16
        var halves = SIMD16<UInt16>()
        for lane in 0..<16 { halves[lane] = UInt16(truncatingIfNeeded: shifted[lane]) }
        UnsafeMutableRawPointer(pointer).storeBytes(of: halves, as: SIMD16<UInt16>.self)
        return unsafeBitCast(rounded, to: SIMD16<Float>.self)
    }
}
