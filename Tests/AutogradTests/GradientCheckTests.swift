import Autograd
import TestSupport
import Testing

/// Every operation's backward rule against central finite differences: for a random weighting w of the output,
/// ∂/∂x Σ w⊙f(x) from backward() must match (L(x + h) − L(x − h)) / 2h element by element.
struct GradientCheckTests {
    static let step: Float = 1e-2

    /// Random values whose magnitude is at least 0.2, away from the kinks of relu and |x|.
    static func tensor(_ shape: [Int], seed: UInt64, positive: Bool = false) throws -> Tensor {
        var random = TestRandom(seed: seed)
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            let magnitude = 0.2 + abs(random.float())
            return positive || random.float() > 0 ? magnitude : -magnitude
        }
        return try Tensor(values, shape: shape, requiresGrad: true)
    }

    /// Checks the gradients of `f` at `inputs`; `seed` fixes any randomness inside `f` (dropout) per evaluation.
    static func check(
        _ label: String, _ inputs: [Tensor], tolerance: Double = 2e-2, seed: UInt64? = nil,
        sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) throws -> Tensor
    ) throws {
        func evaluate(_ tensors: [Tensor]) throws -> Tensor {
            try withRandomGenerator(seed: seed ?? 0) { try f(tensors) }
        }
        for input in inputs { input.grad = nil }
        let output = try evaluate(inputs)
        var random = TestRandom(seed: 7)
        let weights = try Tensor(random.floats(output.count), shape: output.shape)
        func loss(_ tensors: [Tensor]) throws -> Double {
            let y = try evaluate(tensors)
            return zip(y.array, weights.array).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        let weighted = try (output * weights).sum()
        try weighted.backward()
        for (which, input) in inputs.enumerated() where input.requiresGrad {
            let analytic = try #require(input.grad, "\(label): input \(which) has no gradient", sourceLocation: sourceLocation).array
            var values = input.array
            for i in values.indices {
                let original = values[i]
                values[i] = original + step
                var shifted = inputs
                shifted[which] = try Tensor(values, shape: input.shape)
                let plus = try withNoGrad { try loss(shifted) }
                values[i] = original - step
                shifted[which] = try Tensor(values, shape: input.shape)
                let minus = try withNoGrad { try loss(shifted) }
                values[i] = original
                let numeric = (plus - minus) / (2 * Double(step))
                #expect(abs(Double(analytic[i]) - numeric) <= tolerance * max(1, abs(numeric)),
                        "\(label): input \(which) element \(i): backward \(analytic[i]), finite difference \(numeric)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    @Test func matmulInEveryTransposition() throws {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = try Self.tensor(ta ? [4, 3] : [3, 4], seed: 1), b = try Self.tensor(tb ? [5, 4] : [4, 5], seed: 2)
            try Self.check("matmul ta \(ta) tb \(tb)", [a, b]) { try $0[0].matmul($0[1], transposeSelf: ta, transposeOther: tb) }
        }
        let batched = try Self.tensor([2, 3, 4], seed: 3), weight = try Self.tensor([4, 2], seed: 4)
        try Self.check("matmul rank 3", [batched, weight]) { try $0[0].matmul($0[1]) }
        let wide = try Self.tensor([3, 40], seed: 5), narrow = try Self.tensor([7, 40], seed: 6)
        try Self.check("matmul narrow output", [wide, narrow], tolerance: 3e-2) { try $0[0].matmul($0[1], transposeOther: true) }
    }

    @Test func linearWithAndWithoutBias() throws {
        let x = try Self.tensor([5, 3], seed: 8), w = try Self.tensor([4, 3], seed: 9), b = try Self.tensor([4], seed: 10)
        try Self.check("linear", [x, w, b]) { try $0[0].linear(weight: $0[1], bias: $0[2]) }
        let x3 = try Self.tensor([2, 2, 3], seed: 11)
        try Self.check("linear rank 3 no bias", [x3, w]) { try $0[0].linear(weight: $0[1], bias: nil) }
    }

    @Test func arithmeticWithBroadcasting() throws {
        let cases: [([Int], [Int])] = [([2, 3], [2, 3]), ([2, 3], [3]), ([2, 1], [1, 3]), ([3], [2, 3]),
                                       ([2, 3, 4], [3, 1]), ([], [2, 2]), ([2, 2], [])]
        for (index, (left, right)) in cases.enumerated() {
            let a = try Self.tensor(left, seed: UInt64(20 + index)), b = try Self.tensor(right, seed: UInt64(40 + index))
            try Self.check("add \(left) \(right)", [a, b]) { try $0[0] + $0[1] }
            a.grad = nil; b.grad = nil
            try Self.check("sub \(left) \(right)", [a, b]) { try $0[0] - $0[1] }
            a.grad = nil; b.grad = nil
            try Self.check("mul \(left) \(right)", [a, b]) { try $0[0] * $0[1] }
            a.grad = nil; b.grad = nil
            try Self.check("div \(left) \(right)", [a, b], tolerance: 5e-2) { try $0[0] / $0[1] }
        }
        let x = try Self.tensor([3, 2], seed: 60)
        try Self.check("scalar operands", [x]) { try (2 - $0[0] * 3) / 4 + 1 }
        x.grad = nil
        try Self.check("negation", [x]) { -$0[0] }
    }

    @Test func reductionsOverAllAndOneAxis() throws {
        let x = try Self.tensor([2, 3, 4], seed: 70)
        try Self.check("sum", [x]) { $0[0].sum() }
        x.grad = nil
        try Self.check("mean", [x]) { $0[0].mean() }
        for axis in [0, 1, 2, -1] {
            for keep in [false, true] {
                x.grad = nil
                try Self.check("sum axis \(axis) keep \(keep)", [x]) { try $0[0].sum(axis: axis, keepDims: keep) }
                x.grad = nil
                try Self.check("mean axis \(axis) keep \(keep)", [x]) { try $0[0].mean(axis: axis, keepDims: keep) }
            }
        }
    }

    @Test func reshapingAndTransposition() throws {
        let x = try Self.tensor([2, 3, 4], seed: 80)
        try Self.check("reshape", [x]) { try $0[0].reshaped([4, -1]) }
        x.grad = nil
        try Self.check("flatten", [x]) { try $0[0].flattened() }
        for (a, b) in [(0, 1), (1, 2), (0, 2), (-1, -2)] {
            x.grad = nil
            try Self.check("transpose \(a) \(b)", [x]) { try $0[0].transposed(a, b) }
        }
    }

    @Test func elementwiseFunctions() throws {
        let x = try Self.tensor([3, 4], seed: 90)
        let functions: [(String, (Tensor) -> Tensor)] = [
            ("relu", { $0.relu() }), ("gelu", { $0.gelu() }), ("gelu tanh", { $0.gelu(approximate: .tanh) }),
            ("tanh", { $0.tanh() }),
            ("sigmoid", { $0.sigmoid() }), ("exp", { $0.exp() }),
        ]
        for (name, function) in functions {
            x.grad = nil
            try Self.check(name, [x]) { function($0[0]) }
        }
        let positive = try Self.tensor([3, 4], seed: 91, positive: true)
        try Self.check("log", [positive]) { $0[0].log() }
    }

    @Test func softmaxFamilyAndLosses() throws {
        let x = try Self.tensor([3, 5], seed: 100)
        for axis in [0, 1] {
            x.grad = nil
            try Self.check("softmax axis \(axis)", [x]) { try $0[0].softmax(axis: axis) }
            x.grad = nil
            try Self.check("logSoftmax axis \(axis)", [x]) { try $0[0].logSoftmax(axis: axis) }
        }
        x.grad = nil
        try Self.check("crossEntropy", [x]) { try crossEntropy($0[0], [4, 0, 2]) }
        let target = try Self.tensor([3, 5], seed: 101)
        x.grad = nil
        try Self.check("mseLoss", [x, target]) { try mseLoss($0[0], $0[1]) }
    }

    @Test func fusedLayers() throws {
        let x = try Self.tensor([4, 6], seed: 110)
        try Self.check("dropout", [x], seed: 5) { try $0[0].dropout(p: 0.3) }
        let gamma = try Self.tensor([6], seed: 111), beta = try Self.tensor([6], seed: 112)
        x.grad = nil
        try Self.check("layerNorm", [x, gamma, beta], tolerance: 3e-2) {
            try $0[0].layerNorm(normalizedCount: 6, weight: $0[1], bias: $0[2], eps: 1e-5)
        }
        x.grad = nil
        try Self.check("layerNorm without affine", [x], tolerance: 3e-2) {
            try $0[0].layerNorm(normalizedCount: 6, weight: nil, bias: nil, eps: 1e-5)
        }
        let wide = try Self.tensor([3, 37], seed: 114), wideGamma = try Self.tensor([37], seed: 115)
        try Self.check("layerNorm across a vector boundary", [wide, wideGamma], tolerance: 3e-2) {
            try $0[0].layerNorm(normalizedCount: 37, weight: $0[1], bias: nil, eps: 1e-5)
        }
        let table = try Self.tensor([5, 3], seed: 113)
        try Self.check("embedding with a repeated index", [table]) {
            try $0[0].embedding(indices: [4, 1, 4, 0], indexShape: [2, 2])
        }
    }
}

extension GradientCheckTests {
    /// The fused causal attention against finite differences, on a few shapes (one and several heads, T = 1).
    @Test(arguments: [(1, 3, 1, 4), (2, 4, 2, 8), (1, 1, 2, 4), (2, 5, 3, 6)])
    func causalSelfAttentionGradients(_ batch: Int, _ time: Int, _ heads: Int, _ channels: Int) throws {
        let qkv = try Self.tensor([batch, time, 3 * channels], seed: UInt64(97 + time))
        try Self.check("attention \(batch)x\(time)x\(heads)x\(channels)", [qkv]) {
            try $0[0].causalSelfAttention(heads: heads)
        }
    }
}

extension GradientCheckTests {
    /// Head sizes and lengths that are not whole vectors of 16 (hs 17 in T 19, hs 20), and dropout on the weights
    /// (the same mask in every evaluation, through the check's seed).
    @Test(arguments: [(1, 19, 2, 34, 0.0), (2, 6, 1, 20, 0.0), (2, 5, 2, 8, 0.3), (1, 19, 2, 34, 0.5)])
    func causalSelfAttentionGradientsAtOddSizesAndWithDropout(
        _ batch: Int, _ time: Int, _ heads: Int, _ channels: Int, _ dropout: Double
    ) throws {
        let qkv = try Self.tensor([batch, time, 3 * channels], seed: UInt64(31 + channels))
        try Self.check("attention \(batch)x\(time)x\(heads)x\(channels) dropout \(dropout)", [qkv], seed: 11) {
            try $0[0].causalSelfAttention(heads: heads, dropout: dropout)
        }
    }
}
