/// Normalizes over the last dimensions given by `normalizedShape`, then scales and shifts with learned weight
/// (ones) and bias (zeros), as `torch.nn.LayerNorm`.
public final class LayerNorm: Module {
    public let normalizedShape: [Int]
    public let eps: Double
    public let weight: Parameter?
    public let bias: Parameter?

    private let configurationError: TensorError?

    /// An empty or non-positive shape, or an eps that is not positive and finite, makes `forward` throw.
    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true) {
        let valid = !normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 }
        configurationError = !valid
            ? .invalidShape(operation: "LayerNorm", shape: normalizedShape, count: 0)
            : !(eps.isFinite && eps > 0) ? .invalidArgument(operation: "LayerNorm", name: "eps", value: eps) : nil
        self.normalizedShape = normalizedShape
        self.eps = eps
        let shape = valid ? normalizedShape : [0]
        let count = shape.reduce(1, *)
        weight = elementwiseAffine
            ? Parameter(name: "weight", checkedShape: shape, values: FloatBuffer(count: count, repeating: 1))
            : nil
        bias = elementwiseAffine ? Parameter(name: "bias", checkedShape: shape, values: FloatBuffer(count: count)) : nil
    }

    public convenience init(_ size: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true) {
        self.init([size], eps: eps, elementwiseAffine: elementwiseAffine)
    }

    /// A learned weight and, only with `bias`, a learned bias: nanoGPT's `LayerNorm(ndim, bias)`.
    public init(_ size: Int, eps: Double = 1e-5, bias: Bool) {
        let valid = size > 0
        configurationError = !valid
            ? .invalidShape(operation: "LayerNorm", shape: [size], count: 0)
            : !(eps.isFinite && eps > 0) ? .invalidArgument(operation: "LayerNorm", name: "eps", value: eps) : nil
        normalizedShape = [size]
        self.eps = eps
        let count = max(size, 0)
        weight = Parameter(name: "weight", checkedShape: [count], values: FloatBuffer(count: count, repeating: 1))
        self.bias = bias ? Parameter(name: "bias", checkedShape: [count], values: FloatBuffer(count: count)) : nil
    }

    public func forward(_ input: Tensor) throws(TensorError) -> Tensor {
        if let configurationError { throw configurationError }
        guard input.shape.suffix(normalizedShape.count) == normalizedShape[...] else {
            throw TensorError.shapeMismatch(operation: "LayerNorm", shapes: [input.shape, normalizedShape])
        }
        return try input.layerNorm(
            normalizedCount: normalizedShape.reduce(1, *), weight: weight.map(Tensor.init),
            bias: bias.map(Tensor.init), eps: eps)
    }
}
