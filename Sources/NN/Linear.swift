/// y = x·Wᵀ + b, as `torch.nn.Linear`: weight [out, in], bias [out], both initialized uniformly in
/// ±1/√in from the generator of ``Autograd/GlobalRandom`` (PyTorch's default, kaiming_uniform with a = √5).
///
/// Sizes below 1 do not stop the program: the layer is made with empty parameters and its `forward` throws
/// ``Autograd/TensorError/invalidArgument(operation:name:value:)`` naming the size.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int
    private let configurationError: TensorError?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        configurationError = inFeatures < 1
            ? .invalidArgument(operation: "Linear", name: "in features", value: Double(inFeatures))
            : outFeatures < 1 ? .invalidArgument(operation: "Linear", name: "out features", value: Double(outFeatures)) : nil
        let (rows, columns) = configurationError == nil ? (outFeatures, inFeatures) : (0, 0)
        let bound = 1 / Float(max(columns, 1)).squareRoot()
        let (weights, biases) = GlobalRandom.with { random in
            ((0..<(rows * columns)).map { _ in random.uniform(-bound, bound) },
             bias ? (0..<rows).map { _ in random.uniform(-bound, bound) } : [])
        }
        self.weight = Parameter(name: "weight", checkedShape: [rows, columns], values: FloatBuffer(weights))
        self.bias = bias ? Parameter(name: "bias", checkedShape: [rows], values: FloatBuffer(biases)) : nil
    }

    public func forward(_ input: Tensor) throws(TensorError) -> Tensor {
        if let configurationError { throw configurationError }
        return try input.linear(weight: Tensor(weight), bias: bias.map(Tensor.init))
    }
}
