import NN
import Testing

/// nanoGPT's dropout in the GPT model, the attention weights' included: on in training, off in evaluation.
struct GPTDropoutTests {
    static let tokens = [[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]]

    static func model(dropout: Double) -> GPT {
        withRandomGenerator(seed: 3) {
            GPT(.init(vocabularySize: 8, blockSize: 6, layers: 2, heads: 2, embedding: 16, dropout: dropout))
        }
    }

    static func logits(_ model: GPT, seed: UInt64) throws -> [Float] {
        try withRandomGenerator(seed: seed) { try model.logits(Self.tokens).values.array }
    }

    @Test func evaluationModeIgnoresEveryDropoutTheAttentionsIncluded() throws {
        let plain = Self.model(dropout: 0), dropped = Self.model(dropout: 0.4)
        #expect(plain.parameters().map(\.values) == dropped.parameters().map(\.values), "dropout draws nothing at init")
        let attention = try #require((dropped.transformer.h.first as? GPT.Block)?.attn)
        #expect(dropped.modules().contains { $0 === attention.attn_dropout }, "train() and eval() reach attn_dropout")
        #expect(try Self.logits(dropped, seed: 1) != Self.logits(plain, seed: 1), "training mode drops")
        dropped.eval()
        #expect(!attention.attn_dropout.isTraining)
        #expect(try Self.logits(dropped, seed: 1) == Self.logits(plain, seed: 1))
        dropped.train()
        #expect(attention.attn_dropout.isTraining)
    }

    @Test func attentionDropoutAloneChangesTheOutputInTraining() throws {
        let model = Self.model(dropout: 0.4)
        // Only the attention weights' dropout left on: the logits still differ from evaluation's.
        model.eval()
        let evaluation = try Self.logits(model, seed: 1)
        for case let block as GPT.Block in model.transformer.h { block.attn.attn_dropout.setTraining(true) }
        let training = try Self.logits(model, seed: 1)
        #expect(training != evaluation)
        #expect(try Self.logits(model, seed: 1) == training, "the same seed, the same masks")
    }
}
