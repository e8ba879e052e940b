/// What an experiment refuses or cannot do, with the value at fault in the message.
public enum ExperimentError: Error, Equatable, CustomStringConvertible {
    case notAdam(String)
    case invalidArgument(name: String, value: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAdam(let name): return "\(name) is not an Adam optimizer"
        case .invalidArgument(let name, let value, let reason): return "invalid \(name) \(value): \(reason)"
        case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason)"
        }
    }
}
