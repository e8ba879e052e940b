/// Normalizes over the last dimensions given by `normalizedShape`, then scales and shifts with learned weight
/// (ones) and bias (zeros), as `torch.nn.LayerNorm`.
public final class LayerNorm: Module {
    public let normalizedShape: [Int]
    public let eps: Double
    public let weight: Parameter?
    public let bias: Parameter?

    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true) {
        precondition(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 },
                     "LayerNorm needs a non-empty positive shape, got \(normalizedShape)")
        self.normalizedShape = normalizedShape
        self.eps = eps
        let count = normalizedShape.reduce(1, *)
        weight = elementwiseAffine
            ? Parameter(name: "weight", shape: normalizedShape, exactly: FloatBuffer(count: count, repeating: 1))
            : nil
        bias = elementwiseAffine ? Parameter(name: "bias", shape: normalizedShape, exactly: FloatBuffer(count: count)) : nil
    }

    public convenience init(_ size: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true) {
        self.init([size], eps: eps, elementwiseAffine: elementwiseAffine)
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        guard input.shape.suffix(normalizedShape.count) == normalizedShape[...] else {
            throw TensorError.shapeMismatch(operation: "LayerNorm", shapes: [input.shape, normalizedShape])
        }
        return try input.layerNorm(
            normalizedCount: normalizedShape.reduce(1, *), weight: weight.map(Tensor.init),
            bias: bias.map(Tensor.init), eps: eps)
    }
}
