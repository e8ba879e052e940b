/// Errors from the kernels' configuration.
public enum KernelError: Error, CustomStringConvertible, Equatable {
    /// A thread pool was asked for a thread count outside 1...256.
    case invalidThreadCount(Int)
    /// A buffer (or a block of buffers) of this many elements is negative, overflows, or cannot be allocated.
    case allocationTooLarge(elements: Int)

    public var description: String {
        switch self {
        case .invalidThreadCount(let count):
            return "thread count must be between 1 and 256, got \(count)"
        case .allocationTooLarge(let elements):
            return "cannot allocate \(elements) floats: the size is negative, overflows or exceeds the memory available"
        }
    }
}
