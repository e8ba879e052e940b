/// Why processes of a data-parallel run could not work together; each names the process that noticed.
public enum CommunicationError: Error, Equatable, CustomStringConvertible {
    /// Peers sent or took nothing for `seconds` while `operation` waited for them: they died, hang or are stopped.
    case noAnswer(rank: Int, peers: [Int], operation: String, seconds: Double)
    /// MPI reported an error.
    case failed(rank: Int, operation: String, message: String)
    /// The process was started by mpirun, but this build has no MPI in it.
    case notBuiltWithMPI(ranks: Int)
    /// The run cannot be split this way (too many processes for its tensors, a parameter without a gradient).
    case invalid(String)

    public var description: String {
        switch self {
        case .noAnswer(let rank, let peers, let operation, let seconds):
            let who = peers.count == 1 ? "rank \(peers[0])" : "ranks " + peers.map(String.init).joined(separator: ", ")
            return "rank \(rank): no answer from \(who) for \(Int(seconds)) s during \(operation) "
                + "(it died, hangs or is stopped; --peer-timeout sets the wait): ending the job"
        case .failed(let rank, let operation, let message):
            return "rank \(rank): MPI failed during \(operation): \(message)"
        case .notBuiltWithMPI(let ranks):
            return "this adamw was built without MPI, but mpirun started it as one of \(ranks) processes: install "
                + "Open MPI's headers (Debian: libopenmpi-dev) and build again in a fresh build directory"
        case .invalid(let reason):
            return reason
        }
    }
}
