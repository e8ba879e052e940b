/// How a tensor of a state is stored, by its safetensors dtype name: float32, bfloat16, or bytes (8-bit codes, or
/// two 4-bit codes a byte).
public enum StateElementType: String, Sendable, CaseIterable, Codable {
    case float32 = "F32"
    case bfloat16 = "BF16"
    case uint8 = "U8"

    /// The element type `storage` keeps its values or codes as: F32, BF16, or U8 for 8-bit codes and for two
    /// 4-bit codes a byte (the first element in the high half).
    public init(_ storage: StateStorage) {
        switch storage {
        case .float32: self = .float32
        case .bfloat16: self = .bfloat16
        case .int8, .int4: self = .uint8
        }
    }

    /// Bytes an element.
    public var byteSize: Int {
        switch self {
        case .float32: 4
        case .bfloat16: 2
        case .uint8: 1
        }
    }
}
