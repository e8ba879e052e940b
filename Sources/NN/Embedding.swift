/// A table of `count` vectors of `dimension` Floats, looked up by index, as `torch.nn.Embedding`. Initialized from
/// the standard normal distribution.
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ count: Int, _ dimension: Int) {
        precondition(count > 0 && dimension > 0, "Embedding needs positive sizes, got \(count)×\(dimension)")
        let values = GlobalRandom.with { random in (0..<(count * dimension)).map { _ in random.normal() } }
        weight = Parameter(name: "weight", shape: [count, dimension], exactly: FloatBuffer(values))
    }

    /// Looks up `indices` (of any shape) and returns `indexShape + [dimension]`.
    public func callAsFunction(indices: [Int], shape: [Int]? = nil) throws -> Tensor {
        try Tensor(weight).embedding(indices: indices, indexShape: shape ?? [indices.count])
    }

    /// Looks up the indices held, as integral Floats, by `input`.
    public func forward(_ input: Tensor) throws -> Tensor {
        let indices = try input.array.map { value -> Int in
            guard let index = Int(exactly: value) else {
                throw TensorError.invalidArgument(operation: "Embedding", name: "index", value: Double(value))
            }
            return index
        }
        return try callAsFunction(indices: indices, shape: input.shape)
    }
}
