#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU and its derivative over Float memory, in both of PyTorch's forms: exact, x·Φ(x) = ½x(1 + erf(x/√2))
/// (`approximate="none"`, the default), and GPT-2's tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
/// (`approximate="tanh"`).
///
/// The loops run 16 lanes at a time on ``VectorMath`` (no libm call), in parallel over fixed chunks of
/// ``chunk`` elements, so a result is the same bits on every thread count; the last partial vector goes through
/// the same vector code, zero-padded, so every element is computed the same way wherever it sits. Against the
/// Double references (``reference(_:tanh:)``, ``referenceDerivative(_:tanh:)``, measured in `GELUKernelTests`):
/// the tanh form is within 1.5e-7 of max(1, |GELU(x)|) and GELU′ within 1.5e-7; the exact form within 1.1e-6
/// (erf's absolute error times ½|x|, largest near x = −5.5, where GELU itself is −1e-7) and GELU′ within 2.5e-7.
public enum GELUKernel {
    /// Elements per task: a multiple of 16, and about 10 µs of work, well above a task's dispatch cost.
    public static let chunk = 1 << 14

    /// y = GELU(x), `count` elements.
    public static func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, tanh: Bool
    ) {
        if tanh { forward(TanhForm.self, x, y, count: count) } else { forward(ExactForm.self, x, y, count: count) }
    }

    /// dx = g · GELU′(x), `count` elements.
    public static func backward(
        _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int,
        tanh: Bool
    ) {
        if tanh {
            backward(TanhForm.self, g, x, dx, count: count)
        } else {
            backward(ExactForm.self, g, x, dx, count: count)
        }
    }

    // Generic over the form, not over a closure: each loop is specialized and its form inlined.
    static func forward<Form: GELUForm>(
        _: Form.Type, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int
    ) {
        ThreadPool.current.forEachFixedChunk(count: count, chunk: chunk) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                Form.value(.load(x + i)).store(to: y + i)
                i += 16
            }
            let lanes = range.upperBound - i
            if lanes > 0 { Form.value(.load(x + i, count: lanes)).store(to: y + i, count: lanes) }
        }
    }

    static func backward<Form: GELUForm>(
        _: Form.Type, _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        ThreadPool.current.forEachFixedChunk(count: count, chunk: chunk) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                (SIMD16.load(g + i) * Form.derivative(.load(x + i))).store(to: dx + i)
                i += 16
            }
            let lanes = range.upperBound - i
            if lanes > 0 {
                let gradient = SIMD16.load(g + i, count: lanes) * Form.derivative(.load(x + i, count: lanes))
                gradient.store(to: dx + i, count: lanes)
            }
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

/// One of GELU's two forms on 16 lanes: its value and its derivative.
protocol GELUForm {
    static func value(_ x: SIMD16<Float>) -> SIMD16<Float>
    static func derivative(_ x: SIMD16<Float>) -> SIMD16<Float>
}

/// x·Φ(x) = ½x(1 + erf(x/√2)).
enum ExactForm: GELUForm {
    static let inverseRoot2: Float = 0.707_106_77          // 1/√2
    static let inverseRoot2Pi: Float = 0.398_942_3         // 1/√(2π)

    @inline(always)
    static func value(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let half = 0.5 * x
        return half.addingProduct(half, VectorMath.erf(x * inverseRoot2))
    }

    /// Φ(x) + x·φ(x), with φ(x) = e^(−x²/2)/√(2π).
    @inline(always)
    static func derivative(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let cdf = SIMD16(repeating: 0.5).addingProduct(VectorMath.erf(x * inverseRoot2), 0.5)
        let pdf = VectorMath.exp(-0.5 * x * x) * inverseRoot2Pi
        return cdf.addingProduct(x, pdf)
    }
}

/// ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³).
enum TanhForm: GELUForm {
    static let twiceRoot2OverPi: Float = 1.595_769_1       // 2√(2/π)
    static let cubic: Float = 0.044_715

    /// ½x(1 + tanh u) = x·σ(2u) = x / (1 + e^(−2u)): one exp, no tanh, and no cancellation for negative x.
    @inline(always)
    static func value(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let twiceU = x * SIMD16(repeating: twiceRoot2OverPi).addingProduct(x * x, twiceRoot2OverPi * cubic)
        return x / (1 + VectorMath.exp(-twiceU))
    }

    /// d/dx x·σ(2u) = s + x·s(1 − s)·2u′ with s = σ(2u) and s(1 − s) = e·s², e = e^(−2u) (exact where s is near
    /// 1). x is clamped to ±20 and e^(−2u) to e⁸⁰ first, where the derivative is already 1 or 0 to Float
    /// precision, so that x² and e cannot overflow into ∞·0.
    @inline(always)
    static func derivative(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let clamped = x.replacing(with: -20, where: x .< -20).replacing(with: 20, where: x .> 20)
        let square = clamped * clamped
        let minusTwiceU = -clamped * SIMD16(repeating: twiceRoot2OverPi).addingProduct(square, twiceRoot2OverPi * cubic)
        let e = VectorMath.exp(minusTwiceU.replacing(with: 80, where: minusTwiceU .> 80))
        let s = 1 / (1 + e)
        let slope = SIMD16(repeating: twiceRoot2OverPi).addingProduct(square, 3 * twiceRoot2OverPi * cubic)
        return s.addingProduct(clamped, e * s * s * slope)
    }
}
