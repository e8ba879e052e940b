import Optim
import Testing

/// The pieces of the sharded step that live in Optim: the micro-batch sum, clipping with gathered norms, and an
/// optimizer state cut into shards and put together again.
struct ShardedStateTests {
    static func parameters(_ counts: [Int]) throws -> [Parameter] {
        try counts.enumerated().map { index, count in
            try Parameter(name: "p\(index)", shape: [count], values: (0..<count).map { Float($0 % 7) * 0.25 - 0.5 })
        }
    }

    static func gradient(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(($0 * 37 + seed * 11) % 101) / 13 - 3.5 + Float(seed) * 1e-7 }
    }

    @Test func theAccumulatorSumsWholeMicroBatchGradientsInOrder() throws {
        let parameter = try Self.parameters([5000])[0]
        let unused = try Parameter(name: "unused", shape: [3])
        let sum = GradientAccumulator([parameter, unused])
        // Each micro-batch gives the parameter two terms (as a tied embedding does); the sum must be
        // ((a₀ + b₀) + (a₁ + b₁)) + (a₂ + b₂), not ((((a₀ + b₀) + a₁) + b₁) + …).
        var expected = [Float](repeating: 0, count: 5000)
        for micro in 0..<3 {
            let a = Self.gradient(5000, seed: 2 * micro), b = Self.gradient(5000, seed: 2 * micro + 1)
            try a.withUnsafeBufferPointer { try parameter.accumulateGrad($0) }
            try b.withUnsafeBufferPointer { try parameter.accumulateGrad($0) }
            for i in 0..<5000 { expected[i] = micro == 0 ? a[i] + b[i] : expected[i] + (a[i] + b[i]) }
            try sum.collect(first: micro == 0)
            #expect(parameter.grad == nil, "collect drops the micro-batch's gradient")
        }
        try sum.finish()
        let got = try #require(parameter.grad)
        let bitwise = got.withUnsafeBufferPointer { Array($0) }.map(\.bitPattern) == expected.map(\.bitPattern)
        #expect(bitwise, "the sum of whole micro-batch gradients, in order")
        #expect(unused.grad == nil, "a parameter no micro-batch reached keeps no gradient")
        // A second step (after the optimizer's zeroGrad) starts again from its own first micro-batch.
        parameter.zeroGrad()
        try Self.gradient(5000, seed: 9).withUnsafeBufferPointer { try parameter.accumulateGrad($0) }
        try sum.collect(first: true)
        try sum.finish()
        let restarted = parameter.grad?.withUnsafeBufferPointer { Array($0) } == Self.gradient(5000, seed: 9)
        #expect(restarted)
    }

    @Test func clippingWithGatheredNormsIsPlainClipping() throws {
        let plain = try Self.parameters([300, 7, 4096]), gathered = try Self.parameters([300, 7, 4096])
        for (index, pair) in zip(plain, gathered).enumerated() {
            pair.0.grad = .init(Self.gradient(pair.0.count, seed: index))
            pair.1.grad = .init(Self.gradient(pair.1.count, seed: index))
        }
        let norm = try clipGradNorm(plain, maxNorm: 1)
        // Two "processes": the first holds the first parameter's gradient, the second the rest.
        let held = gathered[0].grad
        gathered[0].grad = nil
        var seen: [Float?] = []
        let other = try clipGradNorm(gathered, maxNorm: 1, gatheringNorms: { local in
            seen = local
            return [held.map { $0.withUnsafePointer { Reductions.norm($0, count: 300, order: 2) } }] + local.dropFirst()
        })
        #expect(seen[0] == nil && seen[1] != nil)
        #expect(norm.bitPattern == other.bitPattern)
        for (a, b) in zip(plain.dropFirst(), gathered.dropFirst()) { #expect(a.grad == b.grad) }
    }

    @Test(arguments: [StateStorage.float32, .bfloat16, .int8])
    func shardsOfAStateMergeIntoTheWholeState(storage: StateStorage) throws {
        let counts = [8192, 33, 4096, 100]
        let parameters = try Self.parameters(counts)
        let optimizer = try AdamW(parameters, lr: 0.01, weightDecay: 0.1, states: storage)
        for step in 0..<3 {
            for (index, parameter) in parameters.enumerated() { parameter.grad = .init(Self.gradient(parameter.count, seed: index + step)) }
            try optimizer.step()
        }
        let whole = optimizer.stateDict()
        let names = parameters.map(\.name)
        // Two processes, each loading its part into an optimizer over the same parameters.
        let parts = [Set(["p0", "p1"]), Set(["p2", "p3"])]
        var shards: [StateDict] = []
        for kept in parts {
            let copy = try Self.parameters(counts)
            let shardOptimizer = try AdamW(copy, lr: 0.01, weightDecay: 0.1, states: storage)
            try shardOptimizer.load(stateDict: whole.optimizerShard(keeping: kept, of: names))
            #expect(copy.filter { shardOptimizer.state(for: $0) != nil }.map(\.name).sorted() == kept.sorted())
            shards.append(shardOptimizer.stateDict())
        }
        #expect(try StateDict.mergingOptimizerShards(shards) == whole)
        // A parameter in two shards, or shards of different runs, are refused.
        #expect(throws: StateMismatch.self) { try StateDict.mergingOptimizerShards([whole, whole]) }
        var other = shards[1]
        other.metadata["skipped_steps"] = "5"
        #expect(throws: StateMismatch.self) { try StateDict.mergingOptimizerShards([shards[0], other]) }
    }

    @Test func aShardKeepsTheEntriesOfTheLongestMatchingName() throws {
        let state = StateDict(tensors: [:], metadata: ["state.h.0.weight.step": "1", "state.h.0.weight.x.step": "2",
                                                       "type": "AdamW"])
        let shard = state.optimizerShard(keeping: ["h.0.weight.x"], of: ["h.0.weight", "h.0.weight.x"])
        #expect(shard.metadata == ["state.h.0.weight.x.step": "2", "type": "AdamW"])
    }
}
