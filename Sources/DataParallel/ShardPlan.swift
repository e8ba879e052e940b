/// Which process owns which parameters in a ZeRO-1 run: the model's parameters, in order, cut into one contiguous
/// run of whole tensors a process, as close to equal in elements as whole tensors allow.
///
/// Whole tensors keep every tensor's state exactly as one process keeps it (a quantized tensor's blocks and its
/// float32 fallback are decided per tensor) and make a process's share of the parameter arena one contiguous span;
/// the price is balance: a share can be off 1/N by up to one tensor (PyTorch's ZeroRedundancyOptimizer shards by
/// whole tensors too; DeepSpeed cuts the flat buffer). ``imbalance`` says by how much.
public struct ShardPlan: Sendable, Equatable {
    /// Elements of each parameter, in model order.
    public let counts: [Int]
    /// Where each parameter starts in the concatenation of all of them (one more: the total).
    public let starts: [Int]
    /// The parameters (by index) each rank owns.
    public let owned: [Range<Int>]

    /// Splits `counts` over `ranks` processes so that the largest share is as small as contiguous runs of whole
    /// tensors allow. Rank 0 always owns a tensor (it saves the run); with fewer tensors than processes, or a
    /// tensor larger than an even share, the last ranks may own none: they compute and send gradients and keep no
    /// optimizer state.
    /// - Throws: ``CommunicationError/invalid(_:)`` for a model without parameters or no processes.
    public init(counts: [Int], ranks: Int) throws(CommunicationError) {
        guard ranks >= 1, !counts.isEmpty else {
            throw .invalid("a data-parallel run needs at least one process and one parameter tensor")
        }
        self.counts = counts
        starts = counts.reduce(into: [0]) { $0.append($0.last! + $1) }
        // The smallest share that whole tensors, taken in order, fit into with at most `ranks` shares (a binary
        // search over the share: filling greedily is optimal for a given share), then the cuts that filling makes.
        var low = counts.max()!, high = max(starts.last!, low)
        while low < high {
            let share = low + (high - low) / 2
            if Self.cuts(counts, share: share).count - 1 <= ranks { high = share } else { low = share + 1 }
        }
        var cuts = Self.cuts(counts, share: low)
        while cuts.count - 1 < ranks { cuts.append(counts.count) }  // the last ranks own nothing
        owned = (0..<ranks).map { cuts[$0]..<cuts[$0 + 1] }
    }

    /// Where greedy filling of shares of at most `share` elements cuts `counts` (0 first, the count last).
    private static func cuts(_ counts: [Int], share: Int) -> [Int] {
        var cuts = [0], filled = 0
        for (index, count) in counts.enumerated() {
            if filled + count > share && index > cuts.last! {
                cuts.append(index)
                filled = 0
            }
            filled += count
        }
        cuts.append(counts.count)
        return cuts
    }

    public var ranks: Int { owned.count }
    public var total: Int { starts.last! }

    /// The elements rank `rank` owns, as a range of the concatenation.
    public func elements(of rank: Int) -> Range<Int> { starts[owned[rank].lowerBound]..<starts[owned[rank].upperBound] }

    /// The rank that owns parameter `index`.
    public func owner(of index: Int) -> Int { owned.firstIndex { $0.contains(index) }! }

    /// The largest share against an even one: 1 is a perfect split.
    public var imbalance: Double {
        let largest = (0..<ranks).map { elements(of: $0).count }.max() ?? 0
        return total == 0 ? 1 : Double(largest) * Double(ranks) / Double(total)
    }
}
