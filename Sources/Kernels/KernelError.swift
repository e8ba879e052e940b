/// Errors from the kernels' configuration.
public enum KernelError: Error, CustomStringConvertible, Equatable {
    /// A thread pool was asked for a thread count outside 1...256.
    case invalidThreadCount(Int)

    public var description: String {
        switch self {
        case .invalidThreadCount(let count):
            return "thread count must be between 1 and 256, got \(count)"
        }
    }
}
