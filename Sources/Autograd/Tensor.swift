/// An n-dimensional array of Floats on the CPU, contiguous and row-major, that records the operations made on it
/// so that ``backward()`` can compute gradients (reverse-mode automatic differentiation).
///
/// A tensor is a reference type, as in PyTorch. It holds either its own values or those of an
/// ``Optim/Parameter``: `Tensor(parameter)` reads the parameter's current values, and `backward()` accumulates the
/// parameter's gradient into `parameter.grad`, so the optimizers need no adapter.
///
/// ```swift
/// let x = try Tensor([1, 2, 3], shape: [3], requiresGrad: true)
/// let y = try (x * x).sum()
/// try y.backward()
/// x.grad      // [2, 4, 6]
/// ```
public final class Tensor {
    /// The dimensions, outermost first.
    public let shape: [Int]
    /// The number of elements.
    public let count: Int
    /// The parameter whose values this tensor reads and whose gradient it accumulates, if any.
    public let parameter: Parameter?
    private var ownValues: FloatBuffer
    /// Whether gradients flow to this tensor: set on leaves you want gradients for; operations set it on their
    /// results when an operand requires a gradient and gradients are enabled (see ``withNoGrad(_:)``).
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf (for a parameter tensor, the parameter's).
    public var grad: FloatBuffer? {
        get { parameter?.grad ?? leafGrad }
        set { if let parameter { parameter.grad = newValue } else { leafGrad = newValue } }
    }
    private var leafGrad: FloatBuffer?
    /// How this tensor was computed, for backward; nil for a leaf or once backward has freed the graph.
    var node: Node?
    /// Set when backward freed the graph that computed this tensor: a second backward through it throws.
    var graphFreed = false
    /// Set by a backward pass for the leaves whose gradient it adds as it goes (see `backward(gradient:)`): an
    /// operation may then write such a leaf's parameter gradient in place.
    var takesGradientAsItComes = false

    /// The values, row-major.
    public var values: FloatBuffer { parameter?.values ?? ownValues }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// A tensor holding `values` with `shape`.
    /// - Throws: ``TensorError/invalidShape(operation:shape:count:)`` when the shape has a negative dimension or
    ///   another element count.
    public init(_ values: FloatBuffer, shape: [Int], requiresGrad: Bool = false) throws(TensorError) {
        guard shape.allSatisfy({ $0 >= 0 }), Shape.count(shape) == values.count else {
            throw .invalidShape(operation: "Tensor", shape: shape, count: values.count)
        }
        self.shape = shape
        self.count = values.count
        self.ownValues = values
        self.parameter = nil
        self.requiresGrad = requiresGrad
    }

    /// A tensor whose values its maker built to fit `shape` (a data loader of this package): no check.
    package convenience init(_ values: FloatBuffer, checkedShape shape: [Int]) {
        self.init(unchecked: values, shape: shape)
    }

    /// A tensor holding `values` with `shape`.
    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) throws(TensorError) {
        try self.init(FloatBuffer(values), shape: shape, requiresGrad: requiresGrad)
    }

    /// A tensor of one element.
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(unchecked: FloatBuffer([scalar]), shape: [], requiresGrad: requiresGrad)
    }

    /// A tensor of `shape` filled with `value`.
    public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) throws(TensorError) {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .invalidShape(operation: "Tensor", shape: shape, count: 0) }
        self.init(unchecked: FloatBuffer(count: Shape.count(shape), repeating: value), shape: shape,
                  requiresGrad: requiresGrad)
    }

    /// The tensor view of a parameter: its values, its shape, and gradients that accumulate into `parameter.grad`.
    public init(_ parameter: Parameter) {
        self.shape = parameter.shape
        self.count = parameter.count
        self.parameter = parameter
        self.ownValues = FloatBuffer(count: 0)
        self.requiresGrad = true
    }

    /// A tensor whose shape is known to match its values (operations use this).
    init(unchecked values: FloatBuffer, shape: [Int], requiresGrad: Bool = false) {
        self.shape = shape
        self.count = values.count
        self.ownValues = values
        self.parameter = nil
        self.requiresGrad = requiresGrad
    }

    /// The values as an Array.
    public var array: [Float] { values.array }

    /// The single value of a one-element tensor (PyTorch's `item()`).
    /// - Throws: ``TensorError/invalidShape(operation:shape:count:)`` when the tensor has another count.
    public func item() throws(TensorError) -> Float {
        guard count == 1 else { throw .invalidShape(operation: "item", shape: shape, count: count) }
        return values[0]
    }

    /// The same values without history: a leaf that does not require a gradient.
    public func detached() -> Tensor {
        Tensor(unchecked: values, shape: shape)
    }

    /// Reads the values.
    @inlinable
    public func withValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer(body)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")]\(requiresGrad ? ", requiresGrad" : ""))"
    }
}
