/// Why bytes were refused as a safetensors file or a checkpoint. Nothing is loaded when one is thrown.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case truncated(String)
    case headerTooLarge(Int)
    case invalidHeader(String)
    case unknownDtype(tensor: String, dtype: String)
    case unsupportedDtype(tensor: String, dtype: String)
    case shapeMismatch(tensor: String, shape: [Int], bytes: Int)
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
            return "tensor '\(tensor)' has dtype \(dtype); only F32 is supported"
        case .shapeMismatch(let tensor, let shape, let bytes):
            return "tensor '\(tensor)' of shape \(shape) needs \(shape.reduce(4, *)) bytes, its offsets give \(bytes)"
        case .invalidOffsets(let detail): return "invalid data offsets: \(detail)"
        case .notACheckpoint(let detail): return "not an adamw checkpoint: \(detail)"
        case .checksumMismatch(let stored, let computed):
            return "checksum mismatch (stored \(stored), computed \(computed)): the file is corrupt"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}
