import DataParallel
import Testing

/// How whole tensors are dealt to ranks: contiguous, every tensor once, rank 0 never empty, shares near 1/N.
struct ShardPlanTests {
    /// nanoGPT's CPU recipe in model order (wte, wpe, four blocks of ln_1, c_attn, c_proj, ln_2, c_fc, c_proj; ln_f).
    static let block: [Int] = [128, 49_152, 16_384, 128, 65_536, 65_536]
    static let gpt: [Int] = [8_320, 8_192] + block + block + block + block + [128]

    @Test(arguments: [1, 2, 3, 4, 8])
    func everyTensorIsOwnedOnceInOrder(ranks: Int) throws {
        let plan = try ShardPlan(counts: Self.gpt, ranks: ranks)
        #expect(plan.owned.count == ranks)
        #expect(plan.owned.first?.lowerBound == 0 && plan.owned.last?.upperBound == Self.gpt.count)
        for rank in 1..<ranks { #expect(plan.owned[rank].lowerBound == plan.owned[rank - 1].upperBound) }
        #expect(!plan.owned[0].isEmpty)
        #expect(plan.total == Self.gpt.reduce(0, +))
        #expect((0..<ranks).map { plan.elements(of: $0).count }.reduce(0, +) == plan.total)
        for index in Self.gpt.indices { #expect(plan.owned[plan.owner(of: index)].contains(index)) }
    }

    @Test func theGPTsSharesAreTheMostEvenContiguousSplit() throws {
        // The largest tensor is 65,536 of 804,096 elements (8%).
        #expect(try ShardPlan(counts: Self.gpt, ranks: 2).imbalance < 1.03)
        #expect(try ShardPlan(counts: Self.gpt, ranks: 4).imbalance < 1.07)
        // Against every contiguous split of a small list, by brute force: none has a smaller largest share.
        let counts = [5, 1, 9, 2, 2, 7, 3, 8, 1, 4]
        let best = try ShardPlan(counts: counts, ranks: 3)
        let largest = (0..<3).map { best.elements(of: $0).count }.max()!
        for first in 1..<counts.count {
            for second in first..<counts.count {
                let shares = [counts[..<first].reduce(0, +), counts[first..<second].reduce(0, +), counts[second...].reduce(0, +)]
                #expect(shares.max()! >= largest, "\(first), \(second): \(shares)")
            }
        }
    }

    @Test func fewerTensorsThanRanksLeavesSomeRanksWithout() throws {
        // The seeds' linear model: a weight and a bias over four ranks.
        let plan = try ShardPlan(counts: [7840, 10], ranks: 4)
        #expect(plan.owned == [0..<1, 1..<2, 2..<2, 2..<2])
        #expect(plan.owned.flatMap { Array($0) } == [0, 1])
        #expect(throws: CommunicationError.self) { try ShardPlan(counts: [], ranks: 2) }
    }
}
