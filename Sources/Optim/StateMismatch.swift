/// A saved state that does not fit what should take it — an optimizer, a model, a schedule or a whole training
/// run — with every problem found, one per entry. Whatever refuses a state throws this, and changes nothing.
public struct StateMismatch: Error, Equatable, Sendable, CustomStringConvertible {
    /// What refused the state, as the message names it: "optimizer state", "model state", "checkpoint".
    public let subject: String
    public let problems: [String]

    public init(_ subject: String, problems: [String]) {
        self.subject = subject
        self.problems = problems
    }

    public var description: String { "the \(subject) does not fit: " + problems.joined(separator: "; ") }
}
