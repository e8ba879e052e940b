import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU and its derivative over Float memory, in both of PyTorch's forms: exact, x·Φ(x) = ½x(1 + erf(x/√2))
/// (`approximate="none"`, the default), and GPT-2's tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
/// (`approximate="tanh"`).
///
/// The loops are C (`adamw_gelu_forward`, `adamw_gelu_backward`): 16 lanes at a time on the kernels' own exp and
/// erf (``VectorMath``; no libm call), in parallel over fixed chunks of ``chunk`` elements, so a result is the same
/// bits on every thread count; the last partial vector goes through the same vector code, zero-padded, so every
/// element is computed the same way wherever it sits. The formulas, on 16 lanes:
///
///     exact:  GELU(x) = ½x + ½x·erf(x/√2);    GELU′(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
///     tanh:   GELU(x) = x / (1 + e^(−2u)),  u = √(2/π)(x + 0.044715x³)   (½x(1 + tanh u), no cancellation)
///             GELU′(x) = s + x·e·s²·2u′,  s = σ(2u), e = e^(−2u), with x clamped to ±20 and −2u to 80
///
/// Against the Double references (``reference(_:tanh:)``, ``referenceDerivative(_:tanh:)``, measured in `GELUKernelTests`):
/// the tanh form is within 1.5e-7 of max(1, |GELU(x)|) and GELU′ within 1.5e-7; the exact form within 1.1e-6
/// (erf's absolute error times ½|x|, largest near x = −5.5, where GELU itself is −1e-7) and GELU′ within 2.5e-7.
public enum GELUKernel {
    /// Elements per task: a multiple of 16, and about 10 µs of work, well above a task's dispatch cost.
    public static let chunk = 1 << 14

    /// y = GELU(x), `count` elements.
    public static func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, tanh: Bool
    ) {
        let path = CPUPath.current.code
        let (input, output) = (UncheckedPointer(UnsafeMutablePointer(mutating: x)), UncheckedPointer(y))
        ThreadPool.current.forEachFixedChunk(count: count, chunk: chunk) { range in
            adamw_gelu_forward(path, input.value + range.lowerBound, output.value + range.lowerBound, range.count,
                               tanh ? 1 : 0)
        }
    }

    /// dx = g · GELU′(x), `count` elements.
    public static func backward(
        _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int,
        tanh: Bool
    ) {
        let path = CPUPath.current.code
        let gradient = UncheckedPointer(UnsafeMutablePointer(mutating: g))
        let (input, output) = (UncheckedPointer(UnsafeMutablePointer(mutating: x)), UncheckedPointer(dx))
        ThreadPool.current.forEachFixedChunk(count: count, chunk: chunk) { range in
            adamw_gelu_backward(path, gradient.value + range.lowerBound, input.value + range.lowerBound,
                                output.value + range.lowerBound, range.count, tanh ? 1 : 0)
        }
    }

    /// The Double reference of ``forward(_:_:count:tanh:)``, one element.
    public static func reference(_ x: Float, tanh isTanh: Bool) -> Float {
        let z = Double(x)
        if isTanh { return Float(0.5 * z * (1 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z)))) }
        return Float(0.5 * z * (1 + erf(z * 0.7071067811865476)))
    }

    /// The Double reference of GELU′(x) (``backward(_:_:_:count:tanh:)`` with g = 1), one element.
    public static func referenceDerivative(_ x: Float, tanh isTanh: Bool) -> Float {
        let z = Double(x)
        if isTanh {
            let t = tanh(0.7978845608028654 * (z + 0.044715 * z * z * z))
            return Float(0.5 * (1 + t) + 0.5 * z * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * z * z))
        }
        return Float(0.5 * (1 + erf(z * 0.7071067811865476)) + z * exp(-0.5 * z * z) * 0.3989422804014327)
    }
}
