/// What a tensor operation refuses, with the shapes or values involved in the message.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// The shapes of an operation's operands do not fit together.
    case shapeMismatch(operation: String, shapes: [[Int]])
    /// A shape with a negative dimension, or whose element count does not match the values given.
    case invalidShape(operation: String, shape: [Int], count: Int)
    /// An axis outside the tensor's dimensions.
    case invalidAxis(operation: String, axis: Int, rank: Int)
    /// A class label outside 0..<classes.
    case labelOutOfRange(operation: String, label: Int, classes: Int)
    /// An index outside 0..<size (for example an embedding lookup).
    case indexOutOfRange(operation: String, index: Int, size: Int)
    /// An argument outside its valid range (a dropout probability of 1.5, say).
    case invalidArgument(operation: String, name: String, value: Double)
    /// `backward()` on a tensor with more than one element, without an explicit gradient.
    case backwardNeedsScalar(shape: [Int])
    /// `backward()` on a tensor that does not require a gradient, or whose graph a previous backward freed.
    case noGraph
    /// `backward()` reached a parameter that refused the gradient (its ``Optim/OptimError`` names the parameter and
    /// the element counts).
    case gradientRejected(OptimError)

    public var description: String {
        switch self {
        case .shapeMismatch(let operation, let shapes):
            return "\(operation): shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) do not fit together"
        case .invalidShape(let operation, let shape, let count):
            return "\(operation): shape \(shape) cannot hold \(count) elements"
        case .invalidAxis(let operation, let axis, let rank):
            return "\(operation): axis \(axis) is out of range for a tensor of rank \(rank)"
        case .labelOutOfRange(let operation, let label, let classes):
            return "\(operation): label \(label) is out of range for \(classes) classes"
        case .indexOutOfRange(let operation, let index, let size):
            return "\(operation): index \(index) is out of range for size \(size)"
        case .invalidArgument(let operation, let name, let value):
            return "\(operation): invalid \(name) \(value)"
        case .backwardNeedsScalar(let shape):
            return "backward() needs a scalar (one element) or an explicit gradient; this tensor has shape \(shape)"
        case .noGraph:
            return "backward(): this tensor does not require a gradient, or its graph was freed by an earlier "
                + "backward()"
        case .gradientRejected(let error):
            return "backward(): \(error)"
        }
    }
}
