#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Element-wise functions: each states its value and its derivative (in terms of x and of the result y).

protocol UnaryOperation {
    static func apply(_ x: Float) -> Float
    /// g · dy/dx, given x and y = apply(x).
    static func gradient(_ g: Float, _ x: Float, _ y: Float) -> Float
}

enum Negation: UnaryOperation {
    @inline(__always) static func apply(_ x: Float) -> Float { -x }
    @inline(__always) static func gradient(_ g: Float, _ x: Float, _ y: Float) -> Float { -g }
}

enum Rectifier: UnaryOperation {
    /// max(x, 0); NaN stays NaN, as torch.relu.
    @inline(__always) static func apply(_ x: Float) -> Float { x < 0 ? 0 : x }
    @inline(__always) static func gradient(_ g: Float, _ x: Float, _ y: Float) -> Float { x > 0 ? g : 0 }
}

enum HyperbolicTangent: UnaryOperation {
    @inline(__always) static func apply(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func gradient(_ g: Float, _ x: Float, _ y: Float) -> Float { g * (1 - y * y) }
}

enum Logistic: UnaryOperation {
    @inline(__always) static func apply(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
    @inline(__always) static func gradient(_ g: Float, _ x: Float, _ y: Float) -> Float { g * y * (1 - y) }
}

enum Exponential: UnaryOperation {
    @inline(__always) static func apply(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func gradient(_ g: Float, _ x: Float, _ y: Float) -> Float { g * y }
}

enum Logarithm: UnaryOperation {
    @inline(__always) static func apply(_ x: Float) -> Float { logf(x) }
    @inline(__always) static func gradient(_ g: Float, _ x: Float, _ y: Float) -> Float { g / x }
}

/// How GELU is computed: exactly (with erf) or with GPT-2's tanh approximation, PyTorch's `approximate`.
public enum GELUApproximation: String, Sendable, CaseIterable, Codable {
    case none, tanh
}

extension Tensor {
    func unary<Op: UnaryOperation>(_: Op.Type) -> Tensor {
        let input = values
        let output = FloatBuffer(unsafeUninitializedCount: count) { out in
            input.withUnsafeBufferPointer { x in for i in 0..<x.count { out[i] = Op.apply(x[i]) } }
        }
        return Tensor.result(output, shape: shape, inputs: [self]) { g in
            let grad = FloatBuffer(unsafeUninitializedCount: g.count) { dx in
                g.withUnsafeBufferPointer { g in
                    input.withUnsafeBufferPointer { x in
                        output.withUnsafeBufferPointer { y in
                            for i in 0..<dx.count { dx[i] = Op.gradient(g[i], x[i], y[i]) }
                        }
                    }
                }
            }
            return [grad]
        }
    }

    /// −x.
    public static prefix func - (x: Tensor) -> Tensor { x.unary(Negation.self) }
    /// max(x, 0), element-wise.
    public func relu() -> Tensor { unary(Rectifier.self) }
    /// GELU (exact, with erf), element-wise.
    public func gelu() -> Tensor { gelu(approximate: .none) }

    /// GELU, exact or with the tanh approximation, element-wise, on the vectorized, threaded ``GELUKernel``.
    public func gelu(approximate: GELUApproximation) -> Tensor {
        let tanh = approximate == .tanh
        let input = values, count = count
        var output = FloatBuffer(unsafeUninitializedCount: count) { _ in }
        output.withUnsafeMutablePointer { y in
            input.withUnsafePointer { x in GELUKernel.forward(x, y, count: count, tanh: tanh) }
        }
        return Tensor.result(output, shape: shape, inputs: [self]) { g in
            var grad = FloatBuffer(unsafeUninitializedCount: count) { _ in }
            grad.withUnsafeMutablePointer { dx in
                g.withUnsafePointer { g in
                    input.withUnsafePointer { x in GELUKernel.backward(g, x, dx, count: count, tanh: tanh) }
                }
            }
            return [grad]
        }
    }
    /// tanh(x), element-wise.
    public func tanh() -> Tensor { unary(HyperbolicTangent.self) }
    /// 1 / (1 + e^−x), element-wise.
    public func sigmoid() -> Tensor { unary(Logistic.self) }
    /// eˣ, element-wise.
    public func exp() -> Tensor { unary(Exponential.self) }
    /// ln x, element-wise.
    public func log() -> Tensor { unary(Logarithm.self) }
}
