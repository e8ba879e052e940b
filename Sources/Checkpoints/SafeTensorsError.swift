import Optim

/// Why bytes were refused as a safetensors file or a checkpoint. Nothing is loaded when one is thrown.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case truncated(String)
    case headerTooLarge(Int)
    case invalidHeader(String)
    case unknownDtype(tensor: String, dtype: String)
    case unsupportedDtype(tensor: String, dtype: String)
    /// `dtype`'s elements of `shape` do not take `bytes` bytes.
    case shapeMismatch(tensor: String, shape: [Int], dtype: String, bytes: Int)
    case invalidOffsets(String)
    case notACheckpoint(String)
    case checksumMismatch(stored: String, computed: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .truncated(let detail): return "truncated file: \(detail)"
        case .headerTooLarge(let size): return "header length \(size) is above the 100 MB limit"
        case .invalidHeader(let detail): return "invalid header: \(detail)"
        case .unknownDtype(let tensor, let dtype): return "tensor '\(tensor)' has an unknown dtype '\(dtype)'"
        case .unsupportedDtype(let tensor, let dtype):
            return "tensor '\(tensor)' has dtype \(dtype); only F32, BF16 and U8 are supported"
        case .shapeMismatch(let tensor, let shape, let dtype, let bytes):
            let size = StateElementType(rawValue: dtype)?.byteSize ?? 4
            return "tensor '\(tensor)' of shape \(shape) needs \(shape.reduce(size, *)) bytes, its offsets give \(bytes)"
        case .invalidOffsets(let detail): return "invalid data offsets: \(detail)"
        case .notACheckpoint(let detail): return "not an adamw checkpoint: \(detail)"
        case .checksumMismatch(let stored, let computed):
            return "checksum mismatch (stored \(stored), computed \(computed)): the file is corrupt"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}
