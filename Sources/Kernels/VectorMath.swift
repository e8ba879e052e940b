/// Transcendental functions on 16 Floats at once, for the element-wise kernels (GELU, softmax): no libm call and
/// no branch, only multiply-adds, a division and bit operations, so a loop of them stays in AVX-512 registers.
///
/// Each is checked against Double libm over a dense range in `VectorMathTests`; the errors quoted are the largest
/// measured there. Each is `@inline(always)` (SE-0496): a call passes a SIMD16 in four SSE registers, and the
/// optimizer drops `@inline(__always)` in large callers such as the attention kernel.
public enum VectorMath {
    /// eˣ, lane by lane. Relative error at most 1.2e-7 (about an ulp) where the result is a normal Float.
    ///
    /// Method (as Cephes' `expf`): n = round(x / ln 2) and r = x − n·ln 2, with ln 2 in a high and a low part so
    /// that r is exact to an ulp, |r| ≤ ½ ln 2; eʳ ≈ 1 + r + r²·P(r) with P of degree 5; then eˣ = eʳ·2ⁿ, 2ⁿ made
    /// from exponent bits. The input is clamped to [−104, 88.73] first, so n is in [−150, 128], and 2ⁿ is applied
    /// as two factors 2^⌊n/2⌋·2^⌈n/2⌉, each a normal Float: results under the smallest normal Float underflow
    /// gradually (to 0 below −103.97) and results over the largest overflow to +∞ (above 88.72), as libm's do.
    /// NaN gives NaN.
    @inlinable @inline(always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let clamped = clamp(x, -104, 88.73)
        // Adding 1.5·2²³ rounds x/ln 2 to the nearest integer n and leaves n in the low mantissa bits:
        // the bits of t are 0x4B40_0000 + n.
        let shifter: Float = 0x1.8p23
        let t = SIMD16(repeating: shifter).addingProduct(clamped, 1.442_695_04)
        let n = t - shifter
        var r = clamped.addingProduct(n, -0.693_147_18)          // Float(ln 2)
        r = r.addingProduct(n, 1.904_654_3e-9)                   // Float(ln 2) − ln 2
        var p = SIMD16<Float>(repeating: 1.987_569_2e-4)
        p = SIMD16(repeating: 1.398_199_9e-3).addingProduct(p, r)
        p = SIMD16(repeating: 8.333_452e-3).addingProduct(p, r)
        p = SIMD16(repeating: 4.166_579_6e-2).addingProduct(p, r)
        p = SIMD16(repeating: 0.166_666_65).addingProduct(p, r)
        p = SIMD16(repeating: 0.500_000_01).addingProduct(p, r)
        let er = (r + 1).addingProduct(p, r * r)
        let integer = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let low = integer &>> 1, high = integer &- low
        let scaleLow = unsafeBitCast((low &+ 127) &<< 23, to: SIMD16<Float>.self)
        let scaleHigh = unsafeBitCast((high &+ 127) &<< 23, to: SIMD16<Float>.self)
        return (er * scaleLow * scaleHigh).replacing(with: x, where: x .!= x)
    }

    /// The error function erf(x), lane by lane. Absolute error at most 4.5e-7 (7.5 ulp of 1, near |x| = 3.9);
    /// relative error at most 2.5e-7 for |x| < 1, down to the smallest normal Float.
    ///
    /// Method (Eigen's `generic_fast_erf_float`): erf(x) ≈ x·P(x²)/Q(x²) with P of degree 6 and Q of degree 4 in
    /// x², by Horner's rule with multiply-adds; exactly ±1 from |x| = 3.919206 on, where erf rounds to ±1 in
    /// Float (the rational function alone stays 2 ulp short of 1 there, which GELU would multiply by a large
    /// |x|). NaN gives NaN.
    @inlinable @inline(always)
    public static func erf(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let x2 = x * x
        var p = SIMD16<Float>(repeating: -2.726_142_3e-10)
        p = SIMD16(repeating: 2.770_681_4e-8).addingProduct(p, x2)
        p = SIMD16(repeating: -2.101_024e-6).addingProduct(p, x2)
        p = SIMD16(repeating: -5.692_506_4e-5).addingProduct(p, x2)
        p = SIMD16(repeating: -7.349_906_3e-4).addingProduct(p, x2)
        p = SIMD16(repeating: -2.954_599_8e-3).addingProduct(p, x2)
        p = SIMD16(repeating: -1.609_603_3e-2).addingProduct(p, x2)
        var q = SIMD16<Float>(repeating: -1.456_607_2e-5)
        q = SIMD16(repeating: -2.133_740_6e-4).addingProduct(q, x2)
        q = SIMD16(repeating: -1.682_827e-3).addingProduct(q, x2)
        q = SIMD16(repeating: -7.373_329_2e-3).addingProduct(q, x2)
        q = SIMD16(repeating: -1.426_473_9e-2).addingProduct(q, x2)
        let one = SIMD16<Float>(repeating: 1)
        return (x * (p / q)).replacing(with: one, where: x .>= 3.919_206).replacing(with: -one, where: x .<= -3.919_206)
    }

    /// The sum of the 16 lanes, halving pairwise (8 + 8, 4 + 4, 2 + 2, 1 + 1): a fixed order, in four adds.
    @inlinable @inline(always)
    public static func sum(_ x: SIMD16<Float>) -> Float {
        let eight = x.lowHalf + x.highHalf
        let four = eight.lowHalf + eight.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    /// The largest of the 16 lanes, halving pairwise (a NaN lane is skipped unless it is compared last).
    @inlinable @inline(always)
    public static func maximum(_ x: SIMD16<Float>) -> Float {
        // Concrete SIMD8/SIMD4/SIMD2 comparisons: in a generic over SIMD, `.<` is the lane-by-lane default.
        let eight = x.lowHalf.replacing(with: x.highHalf, where: x.lowHalf .< x.highHalf)
        let four = eight.lowHalf.replacing(with: eight.highHalf, where: eight.lowHalf .< eight.highHalf)
        let two = four.lowHalf.replacing(with: four.highHalf, where: four.lowHalf .< four.highHalf)
        return Swift.max(two[0], two[1])
    }

    /// The lane-wise maximum, by a compare and a blend (the standard library's `pointwiseMax` goes lane by lane).
    /// A NaN lane in `a` is replaced by b's lane.
    @inlinable @inline(always)
    public static func larger(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: a .< b)
    }

    /// x limited to [low, high], NaN kept. (The standard library's `clamped` goes lane by lane through scalar
    /// `min`/`max`; two compares and blends stay in vector registers.)
    @inlinable @inline(always)
    static func clamp(_ x: SIMD16<Float>, _ low: Float, _ high: Float) -> SIMD16<Float> {
        x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
    }
}
