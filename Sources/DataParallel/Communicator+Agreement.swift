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

extension Communicator {
    /// Throws on every rank unless all ranks passed the same `text` (a recipe or a run's options as JSON, say):
    /// every rank receives every rank's text, so all of them throw the same error, worded by `describe` from the
    /// first differing rank's text and rank 0's. `what` is plural ("recipes").
    public func requireSameText(_ text: String, of what: String,
                                describe: (_ theirs: String, _ first: String) -> String) throws {
        let bytes = Array(text.utf8)
        let operation = "comparing \(what)"
        let lengths = try allGather(Int64(bytes.count), operation: operation + " (sizes)").map { Int($0) }
        let all = try allGather(bytes, counts: lengths, operation: operation)
        var start = 0
        var texts: [String] = []
        for length in lengths {
            texts.append(String(decoding: all[start..<(start + length)], as: UTF8.self))
            start += length
        }
        guard let other = texts.indices.dropFirst().first(where: { texts[$0] != texts[0] }) else { return }
        throw CommunicationError.invalid("ranks 0 and \(other) were given different \(what) (\(describe(texts[other], texts[0]))): "
                                         + "every process must be given the same")
    }
}
