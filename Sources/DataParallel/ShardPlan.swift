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

    /// Splits `counts` over `ranks` processes. Rank 0 always owns a tensor (it saves the run); with fewer
    /// tensors than processes, or a tensor larger than a share, some ranks own none: they compute and send
    /// gradients and keep no optimizer state.
    /// - Throws: ``CommunicationError/invalid(_:)`` for a model without parameters or no processes.
    public init(counts: [Int], ranks: Int) throws(CommunicationError) {
        guard ranks >= 1, !counts.isEmpty else {
            throw .invalid("a data-parallel run needs at least one process and one parameter tensor")
        }
        self.counts = counts
        starts = counts.reduce(into: [0]) { $0.append($0.last! + $1) }
        let total = starts.last!
        var cuts = [0]
        for rank in 1..<ranks {
            let target = Double(total) * Double(rank) / Double(ranks)
            // The cut whose prefix is nearest the even share (the first of equals).
            var cut = max(cuts.last!, 1)
            while cut < counts.count, abs(Double(starts[cut + 1]) - target) < abs(Double(starts[cut]) - target) { cut += 1 }
            cuts.append(min(cut, counts.count))
        }
        cuts.append(counts.count)
        owned = (0..<ranks).map { cuts[$0]..<cuts[$0 + 1] }
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
