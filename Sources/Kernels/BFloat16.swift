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
}
