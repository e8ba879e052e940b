import Datasets
import Foundation
import NN
import Testing

/// Examples/GPT and the README's GPT example, as a user writes them, for 40 iterations: the loss falls from
/// ln 65 ≈ 4.17 (`adamw gpt` reaches 3.3 at iteration 30 of the same run), and the sample is 300 characters.
struct GPTExampleTests {
    @Test func theExampleTrainsAndSamples() throws {
        let corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare)
        try withRandomGenerator(seed: 1337) {
            let model = GPT(GPT.Configuration(vocabularySize: corpus.vocabularySize, blockSize: 64, layers: 4, heads: 4, embedding: 128))
            let optimizer = try AdamW(WeightDecayRule.biasesAndNorms.groups(model.parameters(), weightDecay: 0.1),
                                      lr: 1e-3, betas: (0.9, 0.99))
            let schedule = try LambdaLR(optimizer) { it in
                it < 100 ? Double(it + 1) / 101 : 0.1 + 0.45 * (1 + cos(Double.pi * Double(min(it, 2000) - 100) / 1900))
            }
            var random = RandomGenerator(seed: 1337)
            var losses: [Float] = []
            for _ in 0..<40 {
                let (x, y) = corpus.batch(.train, batchSize: 12, context: 64, using: &random)
                optimizer.zeroGrad()
                let loss = try model.loss(x, targets: y)
                try loss.backward()
                try clipGradNorm(model.parameters(), maxNorm: 1)
                try optimizer.step()
                try schedule.step()
                losses.append(try loss.item())
            }
            #expect(abs(losses[0] - 4.17) < 0.1, "\(losses[0])")
            let last = losses.suffix(5).reduce(0, +) / 5
            #expect(last < 3.4, "the last five losses average \(last)")
            #expect(optimizer.groupSchedules.allSatisfy { abs($0.lr - 1e-3 * 41 / 101) < 1e-12 }, "the warm-up's 41st rate")
            model.eval()
            let text = corpus.decode(try model.generate(from: corpus.encode("\n"), count: 300, temperature: 0.8, topK: 200,
                                                        using: &random))
            #expect(text.unicodeScalars.count == 301)
        }
    }
}
