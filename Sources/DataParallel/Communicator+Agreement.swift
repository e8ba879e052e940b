extension Communicator {
    /// Throws on every rank unless all ranks passed the same `fingerprint` (of their data, say): a run whose
    /// processes read different data would train on a mixture, or end in an exchange of mismatched sizes that
    /// names no cause. The error names the first rank that differs from rank 0 and both fingerprints, as
    /// `describe` words them.
    public func requireAgreement(on fingerprint: [Int64], of what: String,
                                 describe: ([Int64]) -> String) throws {
        let count = fingerprint.count
        let all = try allGather(fingerprint, counts: Array(repeating: count, count: size), operation: "comparing \(what)")
        let first = Array(all[0..<count])
        for other in 1..<size {
            let theirs = Array(all[(other * count)..<((other + 1) * count)])
            guard theirs != first else { continue }
            throw CommunicationError.invalid("rank \(other)'s \(what) differs from rank 0's (\(describe(theirs)); rank 0's: "
                           + "\(describe(first))): every process must read the same \(what)")
        }
    }
}
