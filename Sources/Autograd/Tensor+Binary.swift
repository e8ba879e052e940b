// Element-wise binary operations with NumPy broadcasting: +, −, ×, ÷ between tensors and with scalars.
// Each operation states its forward value and the local derivatives; one generic loop applies them.

protocol BinaryOperation {
    static var name: String { get }
    static func apply(_ x: Float, _ y: Float) -> Float
    /// ∂out/∂x · g
    static func gradientX(_ g: Float, _ x: Float, _ y: Float) -> Float
    /// ∂out/∂y · g
    static func gradientY(_ g: Float, _ x: Float, _ y: Float) -> Float
}

enum Addition: BinaryOperation {
    static let name = "add"
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x + y }
    @inline(__always) static func gradientX(_ g: Float, _ x: Float, _ y: Float) -> Float { g }
    @inline(__always) static func gradientY(_ g: Float, _ x: Float, _ y: Float) -> Float { g }
}

enum Subtraction: BinaryOperation {
    static let name = "sub"
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x - y }
    @inline(__always) static func gradientX(_ g: Float, _ x: Float, _ y: Float) -> Float { g }
    @inline(__always) static func gradientY(_ g: Float, _ x: Float, _ y: Float) -> Float { -g }
}

enum Multiplication: BinaryOperation {
    static let name = "mul"
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x * y }
    @inline(__always) static func gradientX(_ g: Float, _ x: Float, _ y: Float) -> Float { g * y }
    @inline(__always) static func gradientY(_ g: Float, _ x: Float, _ y: Float) -> Float { g * x }
}

enum Division: BinaryOperation {
    static let name = "div"
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x / y }
    @inline(__always) static func gradientX(_ g: Float, _ x: Float, _ y: Float) -> Float { g / y }
    @inline(__always) static func gradientY(_ g: Float, _ x: Float, _ y: Float) -> Float { -g * x / (y * y) }
}

/// How two operands are read when broadcast to a common shape.
struct Broadcast {
    let shape: [Int]
    let stridesX: [Int]
    let stridesY: [Int]

    init?(_ x: [Int], _ y: [Int]) {
        guard let shape = Shape.broadcast(x, y) else { return nil }
        self.shape = shape
        stridesX = Shape.broadcastStrides(x, to: shape)
        stridesY = Shape.broadcastStrides(y, to: shape)
    }

    /// Calls `body(out, x, y, length, strideX, strideY)` for each run along the last axis, in row-major order.
    @inline(__always)
    func forEachRun(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        guard let last = shape.indices.last else { body(0, 0, 0, 1, 0, 0); return }
        let length = shape[last]
        guard length > 0, !shape.contains(0) else { return }
        let runs = Shape.count(Array(shape[..<last]))
        var index = [Int](repeating: 0, count: last)
        var x = 0, y = 0
        for run in 0..<runs {
            body(run * length, x, y, length, stridesX[last], stridesY[last])
            // Advance the odometer over the outer axes.
            var axis = last - 1
            while axis >= 0 {
                index[axis] += 1
                x += stridesX[axis]
                y += stridesY[axis]
                if index[axis] < shape[axis] { break }
                x -= stridesX[axis] * shape[axis]
                y -= stridesY[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

extension Tensor {
    static func binary<Op: BinaryOperation>(_ x: Tensor, _ y: Tensor, _: Op.Type) throws(TensorError) -> Tensor {
        guard let broadcast = Broadcast(x.shape, y.shape) else {
            throw .shapeMismatch(operation: Op.name, shapes: [x.shape, y.shape])
        }
        let xValues = x.values, yValues = y.values
        let count = Shape.count(broadcast.shape)
        let output = FloatBuffer(unsafeUninitializedCount: count) { out in
            xValues.withUnsafeBufferPointer { xp in
                yValues.withUnsafeBufferPointer { yp in
                    if x.shape == y.shape {
                        for i in 0..<count { out[i] = Op.apply(xp[i], yp[i]) }
                        return
                    }
                    broadcast.forEachRun { o, xi, yi, length, sx, sy in
                        for j in 0..<length { out[o + j] = Op.apply(xp[xi + j * sx], yp[yi + j * sy]) }
                    }
                }
            }
        }
        let sameShape = x.shape == y.shape
        return result(output, shape: broadcast.shape, inputs: [x, y]) { g in
            // Each output element adds its share into the operand element it was read from: summing over
            // broadcast axes, in output order (deterministic). Without broadcasting, one pass writes each element.
            // (Op's derivatives are called directly, not passed as closures, so that they inline.)
            func reduced(_ operand: Tensor, readsX: Bool) -> FloatBuffer? {
                guard operand.requiresGrad else { return nil }
                @inline(__always) func local(_ g: Float, _ x: Float, _ y: Float) -> Float {
                    readsX ? Op.gradientX(g, x, y) : Op.gradientY(g, x, y)
                }
                if sameShape {
                    return FloatBuffer(unsafeUninitializedCount: count) { d in
                        g.withUnsafeBufferPointer { gp in
                            xValues.withUnsafeBufferPointer { xp in
                                yValues.withUnsafeBufferPointer { yp in
                                    for i in 0..<d.count { d[i] = local(gp[i], xp[i], yp[i]) }
                                }
                            }
                        }
                    }
                }
                var gradient = FloatBuffer(count: operand.count)
                gradient.withUnsafeMutablePointer { d in
                    g.withUnsafePointer { gp in
                        xValues.withUnsafePointer { xp in
                            yValues.withUnsafePointer { yp in
                                broadcast.forEachRun { o, xi, yi, length, sx, sy in
                                    let (target, stride) = readsX ? (xi, sx) : (yi, sy)
                                    for j in 0..<length {
                                        d[target + j * stride] += local(gp[o + j], xp[xi + j * sx], yp[yi + j * sy])
                                    }
                                }
                            }
                        }
                    }
                }
                return gradient
            }
            return [reduced(x, readsX: true), reduced(y, readsX: false)]
        }
    }

    /// Element-wise sum with broadcasting.
    public static func + (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try binary(lhs, rhs, Addition.self) }
    /// Element-wise difference with broadcasting.
    public static func - (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try binary(lhs, rhs, Subtraction.self) }
    /// Element-wise product with broadcasting.
    public static func * (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try binary(lhs, rhs, Multiplication.self) }
    /// Element-wise quotient with broadcasting.
    public static func / (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try binary(lhs, rhs, Division.self) }

    public static func + (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try lhs + Tensor(scalar: rhs) }
    public static func - (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try lhs - Tensor(scalar: rhs) }
    public static func * (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try lhs * Tensor(scalar: rhs) }
    public static func / (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try lhs / Tensor(scalar: rhs) }
    public static func + (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try Tensor(scalar: lhs) + rhs }
    public static func - (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try Tensor(scalar: lhs) - rhs }
    public static func * (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try Tensor(scalar: lhs) * rhs }
    public static func / (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try Tensor(scalar: lhs) / rhs }
}
