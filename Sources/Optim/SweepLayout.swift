/// Where each parameter of an optimizer's groups falls when they are laid end to end: the layout one step's
/// parallel sweep splits into one chunk per thread. Rebuilt only when the groups' membership changes.
public struct SweepLayout: Sendable {
    /// The parameters in group order, and the group of each.
    nonisolated(unsafe) var parameters: [Parameter] = []
    var groupOf: [Int] = []
    /// The first (virtual) element of each parameter, each padded to a whole 16-element vector so that chunk
    /// boundaries fall on whole vectors; one more entry holds the total.
    var starts: [Int] = [0]

    init() {}

    init<Options>(_ groups: [ParamGroup<Options>]) {
        for (index, group) in groups.enumerated() {
            for parameter in group.params {
                parameters.append(parameter)
                groupOf.append(index)
                starts.append((starts.last ?? 0) + (parameter.count + 15) / 16 * 16)
            }
        }
    }

    var total: Int { starts.last ?? 0 }

    /// The element ranges of `chunks` threads: even, on multiples of 16.
    func chunk(_ chunk: Int, of chunks: Int) -> Range<Int> {
        let per = (total / 16 + chunks - 1) / chunks * 16
        let lower = min(chunk * per, total)
        return lower..<min(lower + per, total)
    }

    /// The first parameter that a chunk starting at `element` touches: the one `element` falls in, or the first
    /// that starts at or after it (an empty parameter at `element` included).
    func firstParameter(from element: Int) -> Int {
        var low = 0, high = parameters.count
        while low < high {
            let middle = (low + high) / 2
            if starts[middle] < element && starts[middle + 1] <= element { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The first parameter (by position) whose values or gradient have a count other than its own, and, with
    /// `checkFinite`, the first whose gradient holds NaN or ±infinity; read on `chunks` threads, each over the
    /// parameters that start in its chunk, so each parameter is read by one thread.
    func firstFailures(chunks: Int, pool: ThreadPool, checkFinite: Bool) -> (count: Int?, nonFinite: Int?) {
        var found = [Int](repeating: .max, count: 2 * chunks)
        found.withUnsafeMutableBufferPointer { found in
            parameters.withUnsafeBufferPointer { parameters in
                starts.withUnsafeBufferPointer { starts in
                    pool.run(tasks: chunks) { chunk in
                        let range = chunk == chunks - 1 ? self.chunk(chunk, of: chunks).lowerBound..<Int.max
                            : self.chunk(chunk, of: chunks)
                        var position = firstParameter(from: range.lowerBound)
                        // A parameter that started in the chunk before belongs to it.
                        if position < parameters.count, starts[position] < range.lowerBound { position += 1 }
                        while position < parameters.count, starts[position] < range.upperBound {
                            unowned(unsafe) let parameter = parameters[position]
                            if found[2 * chunk] == .max, !parameter.hasValidCounts { found[2 * chunk] = position }
                            if checkFinite, found[2 * chunk + 1] == .max, !parameter.gradientIsFinite() {
                                found[2 * chunk + 1] = position
                            }
                            position += 1
                        }
                    }
                }
            }
        }
        let counts = stride(from: 0, to: found.count, by: 2).map { found[$0] }.min() ?? .max
        let finite = stride(from: 1, to: found.count, by: 2).map { found[$0] }.min() ?? .max
        return (counts == .max ? nil : counts, finite == .max ? nil : finite)
    }
}

