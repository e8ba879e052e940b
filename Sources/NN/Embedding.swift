/// A table of `count` vectors of `dimension` Floats, looked up by index, as `torch.nn.Embedding`. Initialized from
/// the standard normal distribution.
public final class Embedding: Module {
    public let weight: Parameter
    private let configurationError: TensorError?

    /// Sizes below 1 make lookups throw.
    public init(_ count: Int, _ dimension: Int) {
        let valid = count > 0 && dimension > 0
        configurationError = valid ? nil : .invalidShape(operation: "Embedding", shape: [count, dimension], count: 0)
        let shape = valid ? [count, dimension] : [0, 0]
        // Drawn straight into the parameter's memory, with no array to copy from and free.
        let values = GlobalRandom.with { random in
            FloatBuffer(unsafeUninitializedCount: shape[0] * shape[1]) { for i in $0.indices { $0[i] = random.normal() } }
        }
        weight = Parameter(name: "weight", checkedShape: shape, values: values)
    }

    /// Looks up `indices` (of any shape) and returns `indexShape + [dimension]`.
    public func callAsFunction(indices: [Int], shape: [Int]? = nil) throws(TensorError) -> Tensor {
        if let configurationError { throw configurationError }
        return try Tensor(weight).embedding(indices: indices, indexShape: shape ?? [indices.count])
    }

    /// Looks up the indices held, as integral Floats, by `input`.
    public func forward(_ input: Tensor) throws(TensorError) -> Tensor {
        let indices = try input.array.map { (value: Float) throws(TensorError) -> Int in
            guard let index = Int(exactly: value) else {
                throw .invalidArgument(operation: "Embedding", name: "index", value: Double(value))
            }
            return index
        }
        return try callAsFunction(indices: indices, shape: input.shape)
    }
}
