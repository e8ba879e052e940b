import Autograd
import Datasets
import Checkpoints
import NN

/// nanoGPT's language model as a ``TrainingTask``: the ``NN/GPT`` of a ``GPTRecipe`` over a ``Datasets/TextCorpus``
/// (of characters, or of GPT-2's BPE), its cross-entropy on batches of `batchSize` windows of `context` tokens at
/// random offsets of the training split (nanoGPT's `get_batch`), drawn from a generator of the task's own that a
/// checkpoint saves.
public final class LanguageModelTask: TrainingTask {
    public let recipe: GPTRecipe
    public let corpus: TextCorpus
    /// The training batches' offsets.
    var batches: RandomGenerator
    /// A fingerprint of the text (its tokens and vocabulary), so that a resume on another text is refused.
    public let dataChecksum: String

    public init(recipe: GPTRecipe, corpus: TextCorpus) {
        self.recipe = recipe
        self.corpus = corpus
        batches = RandomGenerator(seed: recipe.seed)
        var crc = CRC32()
        corpus.tokens.withUnsafeBytes { crc.update($0) }
        switch corpus.tokenizer {
        case .characters(let vocabulary): crc.update(Array(vocabulary.text.utf8))
        case .gpt2(let tokenizer): crc.update(Array(tokenizer.fingerprint.utf8))
        }
        dataChecksum = crc.hex
    }

    public func makeModel() -> GPT { GPT(recipe.configuration(vocabularySize: corpus.vocabularySize)) }

    /// The next `count` training batches, in order: what every rank of a step draws, each computing its own.
    public func nextMicroBatches(_ count: Int) -> [(inputs: [[Int]], targets: [[Int]])] {
        (0..<count).map { _ in
            corpus.batch(.train, batchSize: recipe.batchSize, context: recipe.context, using: &batches)
        }
    }

    public func sampleCount(of batch: (inputs: [[Int]], targets: [[Int]])) -> Int { batch.inputs.count }

    public func loss(of model: GPT, on batch: (inputs: [[Int]], targets: [[Int]])) throws -> Tensor {
        try model.loss(batch.inputs, targets: batch.targets)
    }

    /// The text's CRC-32, its length and its number of distinct characters.
    public func dataFingerprint() -> [Int64] {
        [Int64(UInt32(dataChecksum, radix: 16) ?? 0), Int64(corpus.tokens.count), Int64(corpus.vocabularySize)]
    }

    public var dataName: String { "text" }

    public func describe(fingerprint values: [Int64]) -> String {
        "CRC-32 \(String(values[0], radix: 16)), \(values[1]) characters, \(values[2]) distinct"
    }
}
