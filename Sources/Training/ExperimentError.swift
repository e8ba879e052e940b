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

extension ExperimentError {
    /// Throws unless a step's `accumulate` micro-batches divide among `ranks` processes, as a data-parallel run
    /// deals them out.
    static func checkAccumulate(_ accumulate: Int, ranks: Int) throws(ExperimentError) {
        guard accumulate % ranks == 0 else {
            throw .invalidArgument(
                name: "--accumulate", value: "\(accumulate)",
                reason: "must be a multiple of the \(ranks) processes (each computes --accumulate / \(ranks) micro-batches a step)")
        }
    }
}
