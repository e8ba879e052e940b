import Autograd
import Checkpoints
import DataParallel
import Datasets
import Foundation
import Kernels
import NN
import Optim

/// One GPT training run of a ``GPTRecipe`` on a ``TextCorpus``: nanoGPT's `train.py` loop (the learning rate
/// of the iteration, `accumulate` micro-batches each weighted 1/accumulate, clipping, a step), its `estimate_loss`,
/// the mean loss over the whole validation split, sampling, and its whole state as a checkpoint that resumes
/// bit-exactly.
///
/// ```swift
/// let run = try GPTRun(recipe: GPTRecipe(), corpus: try TextCorpus(contentsOf: TextCorpus.tinyShakespeare))
/// while run.iteration < 2000 { try run.step() }
/// print(try run.validationLoss())
/// ```
///
/// Initialization draws from one generator, then each micro-batch's dropout from a generator seeded by it; the
/// batch offsets come from another (``LanguageModelTask``'s); both are seeded by the recipe and saved with the run.
/// The step is the ``Trainer``'s.
///
/// **Data parallel.** Given a ``DataParallel/Communicator`` of N processes, the run is one of N ranks of a ZeRO-1
/// run (``DataParallel/ShardedOptimizer``): the recipe's `accumulate` micro-batches of a step are dealt round by
/// round, micro-batch `round·N + r` to rank r (so `accumulate` must be a multiple of N, as in nanoGPT), and the
/// run is bitwise the run of one process: losses, weights, optimizer state and checkpoints.
public final class GPTRun {
    public let task: LanguageModelTask
    public var recipe: GPTRecipe { task.recipe }
    public let trainer: Trainer<LanguageModelTask>
    public var corpus: TextCorpus { task.corpus }
    public var model: GPT { trainer.model }
    public var parameters: [Parameter] { trainer.parameters }
    public var optimizer: any Optimizer { trainer.optimizer }
    /// The ZeRO-1 shards when the run is one rank of several, nil on its own.
    public var sharding: ShardedOptimizer? { trainer.sharding }
    /// Iterations (optimizer steps) done.
    public private(set) var iteration = 0
    /// Seconds spent in ``step()``, evaluations excluded.
    public private(set) var trainSeconds = 0.0
    /// Where ``trainSeconds`` went.
    public var timing: StepTiming { trainer.timing }
    /// Batches per split in ``estimateLosses()``: nanoGPT's eval_iters of its CPU run.
    public static let evaluationBatches = 20

    /// Builds the run, on its own or, given `communicator`, as its rank of a data-parallel run. Errors name the
    /// value at fault.
    ///
    /// With `initialWeights` (a GPT checkpoint of the recipe's model), the model starts from those weights instead
    /// of its initialization: fine-tuning, in a new run with a new optimizer.
    public init(recipe: GPTRecipe, corpus: TextCorpus, communicator: (any Communicator)? = nil,
                initialWeights: StateDict? = nil) throws {
        try recipe.check(maximumContext: corpus.maximumContext)
        let task = LanguageModelTask(recipe: recipe, corpus: corpus)
        self.task = task
        trainer = try Trainer(task: task, recipe: recipe.training, communicator: communicator,
                              settings: (try StateJSON.encode(recipe), "recipes"), choice: try recipe.optimizerToBuild()) { model in
            if let initialWeights { try GPTCheckpoint.load(initialWeights, into: model) }
        }
    }

    /// The learning rate of the next iteration.
    public var learningRate: Double { recipe.learningRate(at: iteration) }

    /// One iteration; returns the mean loss of its micro-batches (before the step).
    @discardableResult
    public func step() throws -> Double {
        let start = monotonicSeconds()
        defer { trainSeconds += monotonicSeconds() - start }
        let rate = learningRate
        for index in optimizer.groupSchedules.indices { optimizer.groupSchedules[index].lr = rate }
        let losses = try trainer.step(on: task.nextMicroBatches(recipe.accumulate))
        iteration += 1
        return losses.reduce(0, +) / Double(recipe.accumulate)
    }

    /// Floating-point operations of one iteration, forward and backward, as nanoGPT's `estimate_mfu` counts them:
    /// 6 per weight (position embedding excluded) per token, plus 12·layers·context·embedding per token for the
    /// attention's two products; the forward pass is a third of it.
    public var flopsPerIteration: Double {
        let weights = Double(parameters.reduce(0) { $0 + $1.count } - (recipe.positions ?? recipe.context) * recipe.embedding)
        let attention = 12 * Double(recipe.layers) * Double(recipe.context) * Double(recipe.embedding)
        return (6 * weights + attention) * Double(recipe.context * recipe.batchSize * recipe.accumulate)
    }

    /// nanoGPT's `estimate_loss`: the mean loss over the same ``evaluationBatches`` batches of each split at every
    /// call (evaluation mode, no gradients).
    public func estimateLosses() throws -> (train: Double, validation: Double) {
        try trainer.evaluating {
            var means: [Double] = []
            for split in [TextCorpus.Split.train, .validation] {
                var random = RandomGenerator(seed: recipe.seed &+ (split == .train ? 1 : 2))
                var total = 0.0
                for _ in 0..<Self.evaluationBatches {
                    let (inputs, targets) = corpus.batch(split, batchSize: recipe.batchSize, context: recipe.context,
                                                         using: &random)
                    total += Double(try model.loss(inputs, targets: targets).item())
                }
                means.append(total / Double(Self.evaluationBatches))
            }
            return (means[0], means[1])
        }
    }

    /// The mean loss over the whole validation split cut into consecutive, non-overlapping blocks of the context:
    /// deterministic, and what is compared with PyTorch.
    public func validationLoss() throws -> Double { try loss(on: corpus.tokens(of: .validation)) }

    /// The mean loss over `tokens` (of this corpus's vocabulary) cut into consecutive, non-overlapping blocks of
    /// the context, in evaluation mode; NaN when `tokens` hold no block.
    public func loss(on tokens: ArraySlice<Int>) throws -> Double {
        let tokens = Array(tokens)
        let context = recipe.context
        let blocks = tokens.count > context ? (tokens.count - 1) / context : 0
        guard blocks > 0 else { return .nan }
        return try trainer.evaluating {
            var total = 0.0, block = 0
            while block < blocks {
                let rows = min(64, blocks - block)
                let starts = (block..<(block + rows)).map { $0 * context }
                let inputs = starts.map { Array(tokens[$0..<($0 + context)]) }
                let targets = starts.map { Array(tokens[($0 + 1)...($0 + context)]) }
                total += Double(try model.loss(inputs, targets: targets).item()) * Double(rows)
                block += rows
            }
            return total / Double(blocks)
        }
    }

    /// `characters` characters after `prompt` (nanoGPT's sample.py starts from a newline), temperature and top-k
    /// as ``NN/GPT/generate(from:count:temperature:topK:using:)``, drawn from a generator seeded with `seed`.
    public func sample(prompt: String = "\n", characters: Int, temperature: Double = 0.8, topK: Int? = 200,
                       seed: UInt64) throws -> String {
        let start = try corpus.encode(prompt)
        var random = RandomGenerator(seed: seed)
        return try trainer.evaluating {
            corpus.decode(try model.generate(from: start, count: characters, temperature: temperature, topK: topK,
                                             using: &random))
        }
    }

    // MARK: - Checkpoints

    /// A fingerprint of the text trained on (its tokens and vocabulary), so that a resume on another text is
    /// refused; computed once, not at every save.
    public var dataChecksum: String { task.dataChecksum }

    /// The run's whole state: the model as nanoGPT's (``GPTCheckpoint``), the optimizer under `optimizer.`, the
    /// recipe, the iteration, both generators and the text's fingerprint. Nothing in it depends on time, threads
    /// or processes, so equal runs write equal bytes. In a data-parallel run every rank calls it (the optimizer's
    /// shards are gathered) and rank 0's is the run's state.
    public func stateDict() throws -> StateDict {
        // The optimizer's first: it puts an optimizer with modes at the values the model is saved with.
        let optimizerState = try trainer.optimizerState()
        var state = GPTCheckpoint.state(of: model, tokenizer: corpus.tokenizer)
            .merging(optimizerState, prefix: "optimizer.")
        state.metadata["job"] = "gpt"
        state.metadata["recipe"] = try StateJSON.encode(recipe)
        state.metadata["iteration"] = String(iteration)
        state.metadata["rng"] = Self.text(trainer.random.state)
        state.metadata["batch_rng"] = Self.text(task.batches.state)
        state.metadata["data_crc32"] = dataChecksum
        return state
    }

    /// The recipe a checkpoint holds, checked as the flags are (a crafted file with a valid checksum can hold any
    /// number); nil when there is none or it cannot be read.
    public static func recipe(in state: StateDict) throws -> GPTRecipe? {
        guard state.metadata["job"] == "gpt", let text = state.metadata["recipe"],
              let recipe = try StateJSON.decodeChecked(GPTRecipe.self, from: text) else { return nil }
        try recipe.check()
        return recipe
    }

    /// Continues from a checkpoint of a run of the same recipe on the same text: all of it, or nothing.
    /// - Throws: ``Optim/StateMismatch`` naming every part that does not fit; the run is left as it was.
    public func load(_ state: StateDict) throws {
        var problems: [String] = []
        if state.metadata["data_crc32"] != dataChecksum {
            problems.append("it was trained on another text (CRC-32 \(state.metadata["data_crc32"] ?? "missing"), this text's \(dataChecksum)): give the same --data")
        }
        // How the optimizer stores its state is not part of the recipe's identity: a resume may convert it.
        if var saved = try? Self.recipe(in: state) {
            if let storage = recipe.optimizer.kind.storageOption, saved.optimizer.kind == recipe.optimizer.kind {
                saved.optimizer = try saved.optimizer.setting(storage.name, to: recipe.optimizer.given[storage.name])
            }
            if saved != recipe { problems.append("its recipe differs from the run's") }
        }
        // The model's description (what `gpt sample` builds from) must be the recipe's model on this text.
        do {
            let (configuration, tokenization) = try GPTCheckpoint.configuration(in: state)
            if configuration != model.configuration {
                problems.append("its model metadata (\(Self.describe(configuration))) contradicts the recipe's model "
                                + "(\(Self.describe(model.configuration)))")
            }
            if tokenization != GPTCheckpoint.Tokenization(corpus.tokenizer) {
                problems.append(corpus.characters != nil ? "its vocabulary metadata is not this text's characters"
                                : "its tokenizer is not this run's GPT-2 BPE")
            }
        } catch {
            problems.append("\(error)")
        }
        let iteration = state.metadata["iteration"].flatMap { Int($0) }.flatMap { (0...(1 << 40)).contains($0) ? $0 : nil }
        if iteration == nil { problems.append("the iteration is missing, unreadable or out of range") }
        let words = state.metadata["rng"].flatMap(Self.words), batchWords = state.metadata["batch_rng"].flatMap(Self.words)
        let batchGenerator = batchWords.flatMap { RandomGenerator(state: $0) }
        if words.flatMap({ RandomGenerator(state: $0) }) == nil || batchGenerator == nil {
            problems.append("a random generator's state is missing or invalid")
        }
        guard problems.isEmpty, let iteration, let words, let batchGenerator else {
            throw StateMismatch("checkpoint", problems: problems)
        }
        // The model is loaded before the optimizer is checked; if the optimizer refuses, the weights go back.
        let before = model.stateDict()
        try GPTCheckpoint.load(state, into: model)
        do {
            try trainer.loadOptimizerState(state.scoped("optimizer."))
        } catch {
            try? model.load(stateDict: before)
            throw error
        }
        trainer.random.restore(words)
        task.batches = batchGenerator
        self.iteration = iteration
    }

    private static func describe(_ c: GPT.Configuration) -> String {
        "n_layer \(c.layers), n_head \(c.heads), n_embd \(c.embedding), block_size \(c.blockSize), vocab_size "
            + "\(c.vocabularySize), bias \(c.bias), dropout \(c.dropout), tie_weights \(c.tiedEmbedding), gelu \(c.gelu.rawValue)"
            + (c.layerNormEpsilon != 1e-5 ? ", layer_norm_epsilon \(c.layerNormEpsilon)" : "")
    }

    private static func text(_ words: [UInt64]) -> String { words.map { String($0, radix: 16) }.joined(separator: ",") }

    private static func words(_ text: String) -> [UInt64]? {
        let words = text.split(separator: ",").compactMap { UInt64($0, radix: 16) }
        return words.count == 4 ? words : nil
    }
}
