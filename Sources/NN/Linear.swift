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
        // Drawn straight into the parameters' memory (weights, then biases), with no array to copy from and free.
        let (weights, biases) = GlobalRandom.with { random in
            (FloatBuffer(unsafeUninitializedCount: rows * columns) { for i in $0.indices { $0[i] = random.uniform(-bound, bound) } },
             FloatBuffer(unsafeUninitializedCount: bias ? rows : 0) { for i in $0.indices { $0[i] = random.uniform(-bound, bound) } })
        }
        self.weight = Parameter(name: "weight", checkedShape: [rows, columns], values: weights)
        self.bias = bias ? Parameter(name: "bias", checkedShape: [rows], values: biases) : nil
    }

    public func forward(_ input: Tensor) throws(TensorError) -> Tensor {
        if let configurationError { throw configurationError }
        return try input.linear(weight: Tensor(weight), bias: bias.map(Tensor.init))
    }
}
