/// Named tensors and string metadata: the state of an optimizer, a model or a whole training run, as
/// PyTorch's `state_dict()`, in a form a checkpoint file stores as it is (tensors as tensors, the rest as text).
///
/// Keys are dotted paths (`state.fc.weight.exp_avg`). ``merging(_:prefix:)`` and ``scoped(_:)`` nest one state in
/// another under a prefix.
public struct StateDict: Equatable, Sendable {
    /// A tensor's shape, values (row-major) and the element type it is stored as (its safetensors dtype).
    ///
    /// For float32 `values` holds the elements. For the other element types (bfloat16 values, 8-bit codes) it
    /// holds their little-endian bytes, padded with zeros to whole 4-byte words: ``byteCount`` of them count.
    public struct TensorData: Equatable, Sendable {
        public var shape: [Int]
        public var values: FloatBuffer
        public var elementType: StateElementType

        public init(shape: [Int], values: FloatBuffer, elementType: StateElementType = .float32) {
            self.shape = shape
            self.values = values
            self.elementType = elementType
        }

        /// A tensor of `elementType` whose elements are the bytes `bytes` (copied, padded to whole words).
        public init(shape: [Int], bytes: UnsafeRawBufferPointer, elementType: StateElementType) {
            self.shape = shape
            self.elementType = elementType
            values = FloatBuffer(count: (bytes.count + 3) / 4)
            values.withUnsafeMutableBufferPointer { words in
                UnsafeMutableRawBufferPointer(words).copyMemory(from: bytes)
            }
        }

        /// The bytes the elements take (nil when the shape's product overflows).
        public var byteCount: Int? {
            Parameter.elementCount(of: shape).flatMap { count in
                let (bytes, overflow) = count.multipliedReportingOverflow(by: elementType.byteSize)
                return overflow ? nil : bytes
            }
        }

        /// Whether ``values`` holds exactly the words the shape's elements need.
        public var isConsistent: Bool {
            guard let byteCount else { return false }
            return values.count == (elementType == .float32 ? byteCount / 4 : (byteCount + 3) / 4)
        }

        /// Equal shapes, element types and elements; bfloat16 values and codes compare by their bytes (codes read
        /// as floats can look like NaNs, which never compare equal).
        public static func == (a: TensorData, b: TensorData) -> Bool {
            guard a.shape == b.shape, a.elementType == b.elementType else { return false }
            if a.elementType == .float32 { return a.values == b.values }
            return a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
        }

        /// Runs `body` with the elements' bytes, exactly ``byteCount`` of them (the tensor must be consistent).
        public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try values.withUnsafeBufferPointer { words in
                try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(words).prefix(byteCount ?? 0)))
            }
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
