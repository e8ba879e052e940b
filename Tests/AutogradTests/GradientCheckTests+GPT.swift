import Autograd
import TestSupport
import Testing

/// The GPT's other ops against finite differences, on random shapes: the token and position embeddings (indices
/// repeated, as a batch of text repeats characters), LayerNorm with a weight and no bias (nanoGPT's `bias=False`),
/// and both GELUs.
extension GradientCheckTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func gptOpsOnRandomShapes(_ seed: UInt64) throws {
        var random = TestRandom(seed: 300 + seed)
        func size(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        let (rows, width, vocabulary) = (size(1...5), size(2...9), size(2...7))
        let x = try Self.tensor([rows, width], seed: 310 + seed)
        let gamma = try Self.tensor([width], seed: 320 + seed)
        try Self.check("layerNorm weight, no bias \(rows)x\(width)", [x, gamma], tolerance: 3e-2) {
            try $0[0].layerNorm(normalizedCount: width, weight: $0[1], bias: nil, eps: 1e-5)
        }
        let table = try Self.tensor([vocabulary, width], seed: 330 + seed)
        let indices = (0..<(rows * 3)).map { _ in Int(random.next() % UInt64(vocabulary)) }
        try Self.check("embedding \(vocabulary)x\(width) at \(indices)", [table]) {
            try $0[0].embedding(indices: indices, indexShape: [rows, 3])
        }
        let h = try Self.tensor([rows, width], seed: 340 + seed)
        try Self.check("gelu erf \(rows)x\(width)", [h]) { $0[0].gelu(approximate: .none) }
        h.grad = nil
        try Self.check("gelu tanh \(rows)x\(width)", [h]) { $0[0].gelu(approximate: .tanh) }
    }
}
