import CKernels

/// The transcendental functions of the element-wise kernels (GELU, softmax, attention), over Float memory: the C
/// kernels' own eˣ and erf on 16 lanes (`kernel.h`'s `exp16`, `erf16`), with no libm call and no branch, only
/// multiply-adds, a division and bit operations, so that a loop of them stays in vector registers.
///
/// - eˣ (Cephes' `expf`): n = round(x / ln 2) and r = x − n·ln 2, with ln 2 in two parts (the first of 9 significant
///   bits, so n times it is exact with or without FMA); eʳ ≈ 1 + r + r²·P(r) with P of degree 5; then eˣ = eʳ·2ⁿ,
///   2ⁿ made from exponent bits as two factors 2^⌊n/2⌋·2^⌈n/2⌉, so that results under the smallest normal Float
///   underflow gradually (to 0 below −103.97) and results over the largest overflow to +∞ (above 88.72), as libm's
///   do. The input is clamped to [−104, 88.73] first; NaN gives NaN.
/// - erf(x) (Eigen's `generic_fast_erf_float`): x·P(x²)/Q(x²) with P of degree 6 and Q of degree 4, exactly ±1
///   from |x| = 3.919206 on, where erf rounds to ±1 in Float (the rational function alone stays 2 ulp short of 1
///   there, which GELU would multiply by a large |x|). NaN gives NaN.
///
/// Their errors against Double libm are measured in `VectorMathTests` on every path.
public enum VectorMath {
    /// y = eˣ, `count` elements, on `path`.
    public static func exp(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, path: CPUPath = .current
    ) {
        adamw_vector_math(path.code, Int32(ADAMW_FUNCTION_EXP), x, y, count)
    }

    /// y = erf(x), `count` elements, on `path`.
    public static func erf(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, path: CPUPath = .current
    ) {
        adamw_vector_math(path.code, Int32(ADAMW_FUNCTION_ERF), x, y, count)
    }

    /// eˣ of 16 lanes.
    public static func exp(_ x: SIMD16<Float>, path: CPUPath = .current) -> SIMD16<Float> {
        lanes(x) { exp($0, $1, count: 16, path: path) }
    }

    /// erf(x) of 16 lanes.
    public static func erf(_ x: SIMD16<Float>, path: CPUPath = .current) -> SIMD16<Float> {
        lanes(x) { erf($0, $1, count: 16, path: path) }
    }

    private static func lanes(
        _ x: SIMD16<Float>, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> SIMD16<Float> {
        var input = x, output = SIMD16<Float>()
        withUnsafeBytes(of: &input) { source in
            withUnsafeMutableBytes(of: &output) { target in
                body(source.baseAddress!.assumingMemoryBound(to: Float.self),
                     target.baseAddress!.assumingMemoryBound(to: Float.self))
            }
        }
        return output
    }
}
