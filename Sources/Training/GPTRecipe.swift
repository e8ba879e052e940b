import Foundation
import NN
import Optim

/// Everything that defines a GPT training run, as nanoGPT's `config/train_shakespeare_char.py` with its README's
/// CPU changes: saved in each checkpoint, so that a resumed run continues the same one.
///
/// How long a run trains is not part of it (as `max_iters` is not part of a checkpoint's identity): the schedule
/// spans ``decayIterations`` (nanoGPT's `lr_decay_iters`), so 1000 iterations and a resume to 2000 are the same
/// run as 2000 straight.
public struct GPTRecipe: Codable, Equatable, Sendable {
    // The model (nanoGPT's n_layer, n_head, n_embd, block_size, dropout, bias; tied wte/lm_head).
    public var layers = 4
    public var heads = 4
    public var embedding = 128
    public var context = 64
    public var dropout = 0.0
    public var bias = false
    public var tiedEmbedding = true
    public var gelu: GELUApproximation = .none

    // Training.
    public var batchSize = 12
    /// Micro-batches per optimizer step (nanoGPT's gradient_accumulation_steps).
    public var accumulate = 1
    public var optimizer: OptimizerKind = .adamw
    /// The optimizer's options by PyTorch's name, as text: the recipe's (lr 1e-3, betas (0.9, 0.99), weight
    /// decay 0.1) unless replaced.
    public var optimizerOptions: [String: String] = [:]
    /// Decay every parameter, not only those of 2 or more dimensions (for comparison with the recipe).
    public var decayAll = false
    /// The learning rate at the end of the cosine (nanoGPT's min_lr).
    public var minLR = 1e-4
    /// Iterations of linear warm-up (warmup_iters).
    public var warmup = 100
    /// The iteration at which the cosine reaches ``minLR`` (lr_decay_iters).
    public var decayIterations = 2000
    /// Clip the gradients' total 2-norm to this before each step; nil: no clipping (grad_clip 0).
    public var clipNorm: Double? = 1.0
    public var seed: UInt64 = 1337

    /// The recipe's own optimizer options, for the optimizers that have them.
    public static let recipeOptimizerOptions: [String: String] = ["lr": "0.001", "betas": "0.9,0.99", "weight_decay": "0.1"]

    public init() {}

    /// The recipe with `optimizer` and its options: the recipe's defaults that `optimizer` has, replaced by `given`.
    public init(optimizer: OptimizerKind, given: [String: String] = [:]) {
        self.optimizer = optimizer
        optimizerOptions = Self.recipeOptimizerOptions.filter { optimizer.option(named: $0.key) != nil }
            .merging(given) { _, new in new }
    }

    /// The parameters the run does not decay: biases and LayerNorm weights, as nanoGPT's two groups; nil with
    /// ``decayAll``.
    public var excludedFromDecay: WeightDecayRule? { decayAll ? nil : .biasesAndNorms }

    /// The options the optimizer is built with: ``optimizerOptions``, and for an optimizer that replaces the
    /// schedule (Schedule-Free) the recipe's ``warmup`` as its own `warmup_steps` unless that is given.
    public var optimizerSettings: [String: String] {
        guard optimizer.replacesSchedule, optimizerOptions["warmup_steps"] == nil,
              optimizer.option(named: "warmup_steps") != nil else { return optimizerOptions }
        return optimizerOptions.merging(["warmup_steps": String(warmup)]) { given, _ in given }
    }

    /// The peak learning rate: the optimizer's lr.
    public var lr: Double { (optimizerOptions["lr"] ?? optimizer.option(named: "lr")?.defaultText).flatMap(Double.init) ?? 1e-3 }

    /// The model's configuration over a vocabulary of `vocabularySize` tokens.
    public func configuration(vocabularySize: Int) -> GPT.Configuration {
        GPT.Configuration(vocabularySize: vocabularySize, blockSize: context, layers: layers, heads: heads,
                          embedding: embedding, dropout: dropout, bias: bias, tiedEmbedding: tiedEmbedding, gelu: gelu)
    }

    /// nanoGPT's `get_lr`: linear warm-up to lr over ``warmup`` iterations (lr·(it+1)/(warmup+1)), then cosine to
    /// ``minLR`` at ``decayIterations``, and ``minLR`` after. An optimizer that replaces the schedule keeps lr (and
    /// warms up on its own: ``optimizerSettings``).
    public func learningRate(at iteration: Int) -> Double {
        if optimizer.replacesSchedule { return lr }
        if iteration < warmup { return lr * Double(iteration + 1) / Double(warmup + 1) }
        guard decayIterations > warmup, iteration <= decayIterations else { return minLR }
        let ratio = Double(iteration - warmup) / Double(decayIterations - warmup)
        return minLR + 0.5 * (1 + cos(Double.pi * ratio)) * (lr - minLR)
    }

    /// Every value, each named by the flag that sets it with its valid range; the recipe a checkpoint holds passes
    /// the same checks as the one the flags make. `maximumContext` is the corpus's longest context.
    /// - Throws: ``ExperimentError/invalidArgument(name:value:reason:)`` for the first value out of range.
    public func check(maximumContext: Int? = nil) throws(ExperimentError) {
        let counts: [(String, Int, ClosedRange<Int>)] = [
            ("--layers", layers, 1...1024), ("--heads", heads, 1...1024), ("--embedding", embedding, 1...65_536),
            ("--context", context, 1...1_048_576), ("--batch-size", batchSize, 1...1_048_576),
            ("--accumulate", accumulate, 1...1_048_576), ("--warmup", warmup, 0...1 << 40),
            ("--lr-decay-iters", decayIterations, 1...1 << 40),
        ]
        for (flag, value, range) in counts where !range.contains(value) {
            throw .invalidArgument(name: flag, value: "\(value)", reason: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        guard embedding % heads == 0 else {
            throw .invalidArgument(name: "--embedding", value: "\(embedding)",
                                   reason: "must be a multiple of --heads (\(heads))")
        }
        if let maximumContext, context > maximumContext {
            throw .invalidArgument(name: "--context", value: "\(context)",
                                   reason: "must be at most \(maximumContext) for this text (each split needs context + 1 characters)")
        }
        guard (0..<1).contains(dropout) else {
            throw .invalidArgument(name: "--dropout", value: "\(dropout)", reason: "must be in [0, 1)")
        }
        guard minLR.isFinite, minLR >= 0, Float(minLR).isFinite else {
            throw .invalidArgument(name: "--min-lr", value: "\(minLR)", reason: "must be a finite number >= 0 within Float's range")
        }
        // The cosine runs from lr down to min-lr: a min-lr above lr would make it rise.
        if let text = optimizerOptions["lr"] ?? optimizer.option(named: "lr")?.defaultText, let lr = Double(text), minLR > lr {
            throw .invalidArgument(name: "--min-lr", value: "\(minLR)", reason: "must be at most --lr (\(lr)): the cosine decays from lr to min-lr")
        }
        if let clipNorm, !(clipNorm.isFinite && clipNorm > 0 && Float(clipNorm).isFinite) {
            throw .invalidArgument(name: "--clip-norm", value: "\(clipNorm)", reason: "must be a positive number (0: no clipping)")
        }
        do {
            try optimizer.validate(settings: optimizerSettings)
        } catch .unreadableOption(let name, let text, let expected) {
            throw .invalidArgument(name: "--" + name.replacingOccurrences(of: "_", with: "-"), value: text,
                                   reason: "must be \(expected)")
        } catch {
            throw .invalidArgument(name: "--optimizer", value: optimizer.rawValue, reason: "\(error)")
        }
    }
}
