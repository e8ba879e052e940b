/// Named tensors and string metadata: the state of an optimizer, a model or a whole training run, as
/// PyTorch's `state_dict()`, in a form a checkpoint file stores as it is (tensors as tensors, the rest as text).
///
/// Keys are dotted paths (`state.fc.weight.exp_avg`). ``merging(_:prefix:)`` and ``scoped(_:)`` nest one state in
/// another under a prefix.
public struct StateDict: Equatable, Sendable {
    /// A tensor's shape, values (row-major) and the element type it is stored as (its safetensors dtype).
    public struct TensorData: Equatable, Sendable {
        public var shape: [Int]
        public var values: FloatBuffer
        public var elementType: StateElementType

        public init(shape: [Int], values: FloatBuffer, elementType: StateElementType = .float32) {
            self.shape = shape
            self.values = values
            self.elementType = elementType
        }
    }

    public var tensors: [String: TensorData]
    public var metadata: [String: String]

    public init(tensors: [String: TensorData] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// This state with `other`'s entries added under `prefix` (for example "optimizer.").
    public func merging(_ other: StateDict, prefix: String) -> StateDict {
        var merged = self
        for (key, value) in other.tensors { merged.tensors[prefix + key] = value }
        for (key, value) in other.metadata { merged.metadata[prefix + key] = value }
        return merged
    }

    /// The entries under `prefix`, with the prefix removed.
    public func scoped(_ prefix: String) -> StateDict {
        StateDict(
            tensors: Dictionary(uniqueKeysWithValues: tensors.compactMap { key, value in
                key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), value) : nil
            }),
            metadata: Dictionary(uniqueKeysWithValues: metadata.compactMap { key, value in
                key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), value) : nil
            }))
    }
}
