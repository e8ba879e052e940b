/// y = x·Wᵀ + b, as `torch.nn.Linear`: weight [out, in], bias [out], both initialized uniformly in
/// ±1/√in from the global generator (PyTorch's default, kaiming_uniform with a = √5).
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int

    /// A layer from `inFeatures` to `outFeatures` (both ≥ 1, else a precondition failure: a model's shape is
    /// source code, not input).
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear needs positive sizes, got \(inFeatures)→\(outFeatures)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        let (weights, biases) = GlobalRandom.with { random in
            ((0..<(inFeatures * outFeatures)).map { _ in random.uniform(-bound, bound) },
             bias ? (0..<outFeatures).map { _ in random.uniform(-bound, bound) } : [])
        }
        self.weight = Parameter(name: "weight", shape: [outFeatures, inFeatures], exactly: FloatBuffer(weights))
        self.bias = bias ? Parameter(name: "bias", shape: [outFeatures], exactly: FloatBuffer(biases)) : nil
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        try input.linear(weight: Tensor(weight), bias: bias.map(Tensor.init))
    }
}
