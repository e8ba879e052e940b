import Autograd
import Foundation
import Testing

struct TensorBehaviourTests {
    @Test func parameterGradientsAccumulateIntoTheParameter() throws {
        let weight = try Parameter(name: "w", shape: [2], values: [1, 2])
        for _ in 0..<2 {
            let y = try (Tensor(weight) * Tensor([3, 4], shape: [2])).sum()
            try y.backward()
        }
        #expect(weight.grad == [6, 8], "two backward passes add up, as in PyTorch")
    }

    @Test func aTensorUsedTwiceGetsTheSumOfItsGradients() throws {
        let x = try Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        try (x * x + x).sum().backward()
        #expect(x.grad == [3, 5, 7])
    }

    @Test func backwardFreesTheGraph() throws {
        let x = try Tensor([1, 2], shape: [2], requiresGrad: true)
        let y = try (x * 2).sum()
        try y.backward()
        #expect(throws: TensorError.noGraph) { try y.backward() }
        #expect(throws: TensorError.noGraph) { try Tensor(scalar: 1).backward() }
        #expect(throws: TensorError.backwardNeedsScalar(shape: [2])) { try (x * 2).backward() }
    }

    /// The error type is part of the signature: a `catch` gets a ``TensorError`` without a cast, through
    /// `withNoGrad` too, and a parameter's refusal keeps its name and counts in the message.
    @Test func backwardThrowsTensorErrorsThatNameTheirCause() {
        let x = try? Tensor([1, 2], shape: [2], requiresGrad: true)
        do throws(TensorError) {
            try x?.backward()
            Issue.record("backward() on two elements without a gradient did not throw")
        } catch {
            #expect(error == .backwardNeedsScalar(shape: [2]))
        }
        do throws(TensorError) {
            _ = try withNoGrad { () throws(TensorError) in try Tensor([1], shape: [2]) }
            Issue.record("a shape that cannot hold its values did not throw")
        } catch {
            #expect(error == .invalidShape(operation: "Tensor", shape: [2], count: 1))
        }
        let rejected = TensorError.gradientRejected(.gradientCountMismatch(name: "fc.weight", expected: 4, actual: 3))
        #expect(rejected.description == "backward(): gradient of parameter 'fc.weight' has 3 elements, expected 4")
    }

    /// A second backward through an intermediate result of the first (shared, or built on) would find it cut off
    /// from its inputs; it throws instead of losing their gradients, and the first backward's gradients stay.
    @Test func backwardThroughAFreedIntermediateThrows() throws {
        let x = try Tensor([1, 2], shape: [2], requiresGrad: true)
        let hidden = try x * 3
        try hidden.sum().backward()
        #expect(x.grad?.array == [3, 3])
        #expect(throws: TensorError.noGraph) { try (hidden * hidden).sum().backward() }
        #expect(x.grad?.array == [3, 3], "nothing was accumulated")
        #expect(hidden.grad == nil)
    }

    @Test func noGradModeRecordsNothing() throws {
        let x = try Tensor([1, 2], shape: [2], requiresGrad: true)
        let y = try withNoGrad { try (x * 2).sum() }
        #expect(!y.requiresGrad)
        #expect(throws: TensorError.noGraph) { try y.backward() }
        #expect(try (x * 2).sum().requiresGrad)
    }

    @Test func invalidShapesAndArgumentsThrowNamedErrors() throws {
        let a = try Tensor(repeating: 1, shape: [2, 3]), b = try Tensor(repeating: 1, shape: [4, 5])
        #expect(throws: TensorError.shapeMismatch(operation: "add", shapes: [[2, 3], [4, 5]])) { try a + b }
        #expect(throws: TensorError.shapeMismatch(operation: "matmul", shapes: [[2, 3], [4, 5]])) { try a.matmul(b) }
        #expect(throws: TensorError.invalidShape(operation: "Tensor", shape: [2, 2], count: 3)) {
            try Tensor([1, 2, 3], shape: [2, 2])
        }
        #expect(throws: TensorError.invalidShape(operation: "reshape", shape: [4, -1], count: 6)) { try a.reshaped([4, -1]) }
        #expect(throws: TensorError.invalidAxis(operation: "sum", axis: 2, rank: 2)) { try a.sum(axis: 2) }
        #expect(throws: TensorError.labelOutOfRange(operation: "crossEntropy", label: 3, classes: 3)) {
            try crossEntropy(a, [0, 3])
        }
        #expect(throws: TensorError.invalidArgument(operation: "dropout", name: "probability", value: 1.5)) {
            try a.dropout(p: 1.5)
        }
        #expect(throws: TensorError.indexOutOfRange(operation: "embedding", index: 7, size: 2)) {
            try a.embedding(indices: [7], indexShape: [1])
        }
    }

    @Test func knownValues() throws {
        let logits = try Tensor([2, 1, 0.1, 0.5, 2.5, 0.3], shape: [2, 3])
        // log-sum-exp by hand: row 0 → 2.41703, row 1 → 2.72002; targets 0 and 1.
        let loss = try crossEntropy(logits, [0, 1]).item()
        #expect(abs(loss - Float(((2.41703 - 2) + (2.72002 - 2.5)) / 2)) < 1e-4)
        #expect(try logits.argmax(axis: 1) == [0, 1])
        #expect(try logits.softmax().sum(axis: 1).array.allSatisfy { abs($0 - 1) < 1e-6 })
        let x = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(try x.transposed().array == [1, 4, 2, 5, 3, 6])
        #expect(try x.sum(axis: 0).array == [5, 7, 9] && x.mean().array == [3.5])
        #expect(try (x + Tensor([10, 20, 30], shape: [3])).array == [11, 22, 33, 14, 25, 36])
        #expect(Tensor(scalar: 0).gelu().array == [0] && Tensor(scalar: -1).relu().array == [0])
    }

    @Test func dropoutIsReproducibleUnderASeed() throws {
        let x = try Tensor(repeating: 1, shape: [1000])
        let first = try withRandomGenerator(seed: 3) { try x.dropout(p: 0.25).array }
        let second = try withRandomGenerator(seed: 3) { try x.dropout(p: 0.25).array }
        #expect(first == second)
        #expect(try withRandomGenerator(seed: 4) { try x.dropout(p: 0.25).array } != first)
        let kept = first.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 } && (650...850).contains(kept.count))
    }

    /// The other tests draw from generators of their own, so nothing else moves the global one here.
    /// A stream saved mid-way and restored into another continues the same sequence (what a resumed run needs).
    @Test func aRestoredRandomStreamContinuesTheSameSequence() throws {
        let stream = RandomStream(seed: 9)
        let x = try Tensor(repeating: 1, shape: [64])
        _ = try withRandomGenerator(stream) { try x.dropout(p: 0.5) }
        let saved = stream.state
        let next = try withRandomGenerator(stream) { try x.dropout(p: 0.5).array }
        let copy = RandomStream(seed: 1)
        #expect(copy.restore(saved))
        #expect(try withRandomGenerator(copy) { try x.dropout(p: 0.5).array } == next)
        #expect(!copy.restore([1, 2]), "a state of the wrong size is refused")
        #expect(!copy.restore([0, 0, 0, 0]), "the all-zero state of xoshiro is refused")
    }

    @Test func manualSeedRestartsTheGlobalSequence() {
        manualSeed(42)
        let first = GlobalRandom.with { $0.next() }
        manualSeed(42)
        #expect(GlobalRandom.with { $0.next() } == first)
        var expected = RandomGenerator(seed: 42)
        #expect(first == expected.next())
    }
}

extension TensorBehaviourTests {
    /// PyTorch 2.15's values (torch.nn.functional.gelu in float64, printed to 10 decimals) at a few points, exact and
    /// tanh-approximated.
    @Test func geluMatchesPyTorchExactlyAndWithTheTanhApproximation() throws {
        let x = try Tensor([-3, -1, -0.5, 0, 0.5, 1, 3], shape: [7])
        let exact: [Double] = [-0.0040496941, -0.1586552539, -0.1542687694, 0, 0.3457312306, 0.8413447461, 2.9959503059]
        let tanh: [Double] = [-0.0036373921, -0.1588080094, -0.1542859902, 0, 0.3457140098, 0.8411919906, 2.9963626079]
        for (ours, torch) in zip(x.gelu().values, exact) { #expect(abs(Double(ours) - torch) < 1e-6, "\(ours) \(torch)") }
        for (ours, torch) in zip(x.gelu(approximate: .tanh).values, tanh) {
            #expect(abs(Double(ours) - torch) < 1e-6, "\(ours) \(torch)")
        }
    }
}

extension TensorBehaviourTests {
    /// PyTorch 2.15's scaled_dot_product_attention(is_causal=True) in float64 on qkv[i] = sin(0.37·i), B = 2,
    /// T = 5, 3 heads of 2: the output's sum, its sum weighted by cos(0.11·i), and four elements.
    @Test func causalAttentionMatchesPyTorch() throws {
        let (batch, time, heads, channels) = (2, 5, 3, 6)
        let count = batch * time * 3 * channels
        let qkv = try Tensor((0..<count).map { Float(Foundation.sin(0.37 * Double($0))) }, shape: [batch, time, 3 * channels])
        let y = try qkv.causalSelfAttention(heads: heads).values.array.map(Double.init)
        let weighted = y.enumerated().reduce(0.0) { $0 + $1.element * Foundation.cos(0.11 * Double($1.offset)) }
        #expect(abs(y.reduce(0, +) - 8.943489882539406) < 1e-5)
        #expect(abs(weighted - -0.6938636148343776) < 1e-5)
        for (ours, torch) in zip(Array(y.prefix(4)) + Array(y.suffix(2)),
                                 [-0.9631309305733164, -0.9952398257691627, -0.8926476794282346, -0.669239857276262,
                                  0.8287734858537608, 0.6537206428891388]) {
            #expect(abs(ours - torch) < 1e-6, "\(ours) vs \(torch)")
        }
        #expect(throws: TensorError.self) { try qkv.causalSelfAttention(heads: 4) }
    }
}

extension TensorBehaviourTests {
    /// The attention's tasks write disjoint memory: output and gradient are the same bits on 1 and 2 threads.
    @Test func causalAttentionIsTheSameOnOneAndTwoThreads() throws {
        func run(threads: Int) throws -> ([UInt32], [UInt32]) {
            try ThreadPool.$current.withValue(try ThreadPool(threadCount: threads)) {
                let count = 3 * 7 * 3 * 8
                let qkv = try Tensor((0..<count).map { Float(Foundation.sin(0.23 * Double($0))) }, shape: [3, 7, 24],
                                     requiresGrad: true)
                let y = try qkv.causalSelfAttention(heads: 2)
                try (y * y).sum().backward()
                return (y.values.map(\.bitPattern), try #require(qkv.grad).map(\.bitPattern))
            }
        }
        let (one, two) = (try run(threads: 1), try run(threads: 2))
        #expect(one.0 == two.0 && one.1 == two.1)
    }
}

extension TensorBehaviourTests {
    static func attentionInput(_ batch: Int, _ time: Int, _ channels: Int) throws -> Tensor {
        let count = batch * time * 3 * channels
        return try Tensor((0..<count).map { Float(Foundation.sin(0.23 * Double($0))) },
                          shape: [batch, time, 3 * channels], requiresGrad: true)
    }

    /// The output and qkv's gradient, as bit patterns, and the generator's state afterwards.
    static func attention(
        _ qkv: Tensor, heads: Int, dropout: Double?, seed: UInt64 = 5
    ) throws -> (output: [UInt32], grad: [UInt32], state: [UInt64]) {
        qkv.grad = nil
        return try withRandomGenerator(seed: seed) {
            let y = try dropout.map { try qkv.causalSelfAttention(heads: heads, dropout: $0) }
                ?? qkv.causalSelfAttention(heads: heads)
            try (y * y).sum().backward()
            return (y.values.map(\.bitPattern), try #require(qkv.grad).map(\.bitPattern), GlobalRandom.state)
        }
    }

    /// Masks come from one seed per (batch row, head) drawn before the tasks run: 1 and 2 threads agree.
    @Test func causalAttentionWithDropoutIsTheSameOnOneAndTwoThreads() throws {
        let qkv = try Self.attentionInput(3, 21, 40)
        func run(threads: Int) throws -> (output: [UInt32], grad: [UInt32], state: [UInt64]) {
            try ThreadPool.$current.withValue(try ThreadPool(threadCount: threads)) {
                try Self.attention(qkv, heads: 2, dropout: 0.25)
            }
        }
        let (one, two) = (try run(threads: 1), try run(threads: 2))
        #expect(one.output == two.output && one.grad == two.grad && one.state == two.state)
        #expect(one.output != (try Self.attention(qkv, heads: 2, dropout: 0.25, seed: 6)).output,
                "another seed, other masks")
    }

    @Test func causalAttentionWithZeroDropoutIsTheNoDropoutPathAndDrawsNothing() throws {
        let qkv = try Self.attentionInput(2, 9, 24)
        let plain = try Self.attention(qkv, heads: 3, dropout: nil)
        let zero = try Self.attention(qkv, heads: 3, dropout: 0)
        #expect(plain.output == zero.output && plain.grad == zero.grad)
        #expect(zero.state == RandomGenerator(seed: 5).state, "p = 0 draws no seed")
        let dropped = try Self.attention(qkv, heads: 3, dropout: 0.1)
        #expect(dropped.state != zero.state && dropped.output != zero.output)
    }

    /// Position 0 attends only to itself with weight 1: with dropout its output is 0 or v₀/(1 − p), per head.
    @Test func causalAttentionDropoutZeroesOrScalesWholeWeights() throws {
        let (time, channels, heads, p) = (3, 8, 2, 0.5)
        let qkv = try Self.attentionInput(16, time, channels)
        let y = try withRandomGenerator(seed: 9) { try qkv.causalSelfAttention(heads: heads, dropout: p) }
        var seen = Set<Bool>()
        for b in 0..<16 {
            for h in 0..<heads {
                let columns = (h * channels / heads)..<((h + 1) * channels / heads)
                let out = columns.map { y.values[b * time * channels + $0] }
                let v = columns.map { qkv.values[b * time * 3 * channels + 2 * channels + $0] }
                let kept = zip(out, v).allSatisfy { abs($0 - $1 / Float(1 - p)) <= 1e-6 }
                #expect(kept || out.allSatisfy { $0 == 0 }, "batch \(b) head \(h): \(out) from v \(v)")
                seen.insert(kept)
            }
        }
        #expect(seen == [true, false], "32 draws at p = ½ both keep and drop")
    }

    @Test func causalAttentionRefusesADropoutOutsideZeroToOne() throws {
        let qkv = try Self.attentionInput(1, 2, 4)
        for p in [-0.1, 1, 1.5, .nan] {
            #expect(throws: TensorError.self) { try qkv.causalSelfAttention(heads: 2, dropout: p) }
        }
    }
}
