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

    /// Sixteen bfloat16 values at `pointer` as float32. Read as eight 32-bit words, each holding two elements
    /// (the first in the low half): a word shifted up is the first's float, its top half the second's, and the
    /// even/odd lanes interleave them back in order (one word shuffle; widening through `truncatingIfNeeded` is an
    /// out-of-line call).
    @inline(__always)
    static func load(_ pointer: UnsafePointer<UInt16>) -> SIMD16<Float> {
        let words = UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<UInt32>.self)
        var bits = SIMD16<UInt32>()
        bits.evenHalf = words &<< 16
        bits.oddHalf = words & 0xFFFF_0000
        return unsafeBitCast(bits, to: SIMD16<Float>.self)
    }

    /// Stores sixteen float32 values at `pointer` as bfloat16, rounded to nearest even. Without masks (Swift turns
    /// a masked select into a loop over lanes): a NaN is kept a NaN by OR-ing in its quiet bit (0x0040 of the
    /// bfloat16) where the magnitude exceeds infinity's.
    @inline(__always)
    static func store(_ values: SIMD16<Float>, to pointer: UnsafeMutablePointer<UInt16>) {
        let bits = unsafeBitCast(values, to: SIMD16<UInt32>.self)
        var rounded = bits &+ 0x7FFF &+ ((bits &>> 16) & 1)
        // (0x7F800000 − magnitude) is negative for a NaN only: its arithmetic shift is then all ones. A NaN's
        // rounding can carry into the exponent and sign, so its bits are taken unrounded, with the quiet bit.
        let magnitude = unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD16<Int32>.self)
        let isNaN = unsafeBitCast((SIMD16<Int32>(repeating: 0x7F80_0000) &- magnitude) &>> 31, to: SIMD16<UInt32>.self)
        rounded = (rounded & ~isNaN) | ((bits | 0x0040_0000) & isNaN)
        let words = (rounded.evenHalf &>> 16) | (rounded.oddHalf & 0xFFFF_0000)
        UnsafeMutableRawPointer(pointer).storeBytes(of: words, as: SIMD8<UInt32>.self)
    }
}
