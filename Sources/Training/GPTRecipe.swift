import Foundation
import NN
import Optim

/// Everything that defines a GPT training run, as nanoGPT's `config/train_shakespeare_char.py` with its README's
/// CPU changes: saved in each checkpoint, so that a resumed run continues the same one.
///
/// How long a run trains is not part of it (as `max_iters` is not part of a checkpoint's identity): the schedule
/// spans ``decayIterations`` (nanoGPT's `lr_decay_iters`), so 1000 iterations and a resume to 2000 are the same
/// run as 2000 straight.
public struct GPTRecipe: Equatable, Sendable {
    // The model (nanoGPT's n_layer, n_head, n_embd, block_size, dropout, bias; tied wte/lm_head).
    public var layers = 4
    public var heads = 4
    public var embedding = 128
    public var context = 64
    public var dropout = 0.0
    public var bias = false
    public var tiedEmbedding = true
    public var gelu: GELUApproximation = .none
    /// The LayerNorms' eps (a Hugging Face GPT-2's layer_norm_epsilon; PyTorch's default for nanoGPT's).
    public var layerNormEpsilon = 1e-5
    /// The positions the model embeds (GPT-2's n_positions) when more than ``context``, the length it trains on;
    /// nil: ``context`` (nanoGPT's block_size is both).
    public var positions: Int?

    /// What every task's run has: nanoGPT's batch of 12, no decay on biases and LayerNorm weights (its two
    /// groups), clipping at 1 (grad_clip), seed 1337, and non-finite gradients stepped on as PyTorch does. The
    /// optimizer: `GPTRecipe()` holds AdamW with PyTorch's defaults; ``init(optimizer:given:)`` (and `adamw gpt`'s
    /// flags) give the recipe's (lr 1e-3, betas (0.9, 0.99), weight decay 0.1) unless replaced.
    public var training = Recipe(decay: .exceptBiasesAndNorms, batchSize: 12, clipNorm: 1.0, seed: 1337, nonFinite: .propagate)
    /// The learning rate at the end of the cosine (nanoGPT's min_lr).
    public var minLR = 1e-4
    /// Iterations of linear warm-up (warmup_iters).
    public var warmup = 100
    /// The iteration at which the cosine reaches ``minLR`` (lr_decay_iters).
    public var decayIterations = 2000

    /// The recipe's own optimizer options, for the optimizers that have them.
    public static let recipeOptimizerOptions: [String: String] = ["lr": "0.001", "betas": "0.9,0.99", "weight_decay": "0.1"]

    public init() {}

    /// The recipe with `optimizer` and its options: the recipe's defaults that `optimizer` has, replaced by `given`.
    /// - Throws: as ``Optim/OptimizerChoice/init(_:settings:)``.
    public init(optimizer: OptimizerKind, given: [String: String] = [:]) throws(OptimError) {
        let recipe = Self.recipeOptimizerOptions.filter { optimizer.option(named: $0.key) != nil }
        self.optimizer = try OptimizerChoice(optimizer, settings: recipe.merging(given) { _, new in new })
    }

    /// The optimizer the run builds: ``optimizer``, and for one that replaces the schedule (Schedule-Free) the
    /// recipe's ``warmup`` as its own `warmup_steps` unless that is given.
    /// - Throws: the optimizer's refusal of that warm-up.
    public func optimizerToBuild() throws(OptimError) -> OptimizerChoice {
        guard optimizer.kind.replacesSchedule, optimizer.given["warmup_steps"] == nil,
              optimizer.kind.option(named: "warmup_steps") != nil else { return optimizer }
        return try optimizer.setting("warmup_steps", to: String(warmup))
    }

    /// The peak learning rate: the optimizer's lr.
    public var lr: Double { optimizer.lr }

    /// The model's configuration over a vocabulary of `vocabularySize` tokens.
    public func configuration(vocabularySize: Int) -> GPT.Configuration {
        GPT.Configuration(vocabularySize: vocabularySize, blockSize: positions ?? context, layers: layers, heads: heads,
                          embedding: embedding, dropout: dropout, bias: bias, tiedEmbedding: tiedEmbedding, gelu: gelu,
                          layerNormEpsilon: layerNormEpsilon)
    }

    /// nanoGPT's `get_lr`: linear warm-up to lr over ``warmup`` iterations (lr·(it+1)/(warmup+1)), then cosine to
    /// ``minLR`` at ``decayIterations``, and ``minLR`` after. An optimizer that replaces the schedule keeps lr (and
    /// warms up on its own: ``optimizerToBuild()``).
    public func learningRate(at iteration: Int) -> Double {
        if optimizer.kind.replacesSchedule { return lr }
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
        if let positions, !(context...1_048_576).contains(positions) {
            throw .invalidArgument(name: "n_positions", value: "\(positions)",
                                   reason: "must be between --context (\(context)) and 1048576")
        }
        guard embedding % heads == 0 else {
            throw .invalidArgument(name: "--embedding", value: "\(embedding)",
                                   reason: "must be a multiple of --heads (\(heads))")
        }
        if let maximumContext, context > maximumContext {
            throw .invalidArgument(name: "--context", value: "\(context)",
                                   reason: "must be at most \(maximumContext) for this text (each split needs context + 1 characters)")
        }
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0 else {
            throw .invalidArgument(name: "layer_norm_epsilon", value: "\(layerNormEpsilon)", reason: "must be a positive number")
        }
        guard (0..<1).contains(dropout) else {
            throw .invalidArgument(name: "--dropout", value: "\(dropout)", reason: "must be in [0, 1)")
        }
        guard minLR.isFinite, minLR >= 0, Float(minLR).isFinite else {
            throw .invalidArgument(name: "--min-lr", value: "\(minLR)", reason: "must be a finite number >= 0 within Float's range")
        }
        // The cosine runs from lr down to min-lr: a min-lr above lr would make it rise.
        if minLR > lr {
            throw .invalidArgument(name: "--min-lr", value: "\(minLR)", reason: "must be at most --lr (\(lr)): the cosine decays from lr to min-lr")
        }
        if let clipNorm, !(clipNorm.isFinite && clipNorm > 0 && Float(clipNorm).isFinite) {
            throw .invalidArgument(name: "--clip-norm", value: "\(clipNorm)", reason: "must be a positive number (0: no clipping)")
        }
        do {
            _ = try optimizerToBuild()
        } catch {
            throw .invalidArgument(name: "--warmup", value: "\(warmup)", reason: "\(error)")
        }
    }
}

extension GPTRecipe: Codable {
    // The keys and layout a synthesized conformance had, so that saved recipes keep their bytes; the optimizer is
    // two entries, its kind and the options given.
    enum CodingKeys: String, CodingKey {
        case layers, heads, embedding, context, dropout, bias, tiedEmbedding, gelu, batchSize, accumulate
        case optimizer, optimizerOptions, decayAll, minLR, warmup, decayIterations, clipNorm, seed, nonFinite
        case layerNormEpsilon, positions
    }

    /// - Throws: a `DecodingError` for JSON that is not a recipe, or the ``Optim/OptimError`` of an optimizer
    ///   option the file holds that the optimizer refuses (as the flag would be).
    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        layers = try values.decode(Int.self, forKey: .layers)
        heads = try values.decode(Int.self, forKey: .heads)
        embedding = try values.decode(Int.self, forKey: .embedding)
        context = try values.decode(Int.self, forKey: .context)
        dropout = try values.decode(Double.self, forKey: .dropout)
        bias = try values.decode(Bool.self, forKey: .bias)
        tiedEmbedding = try values.decode(Bool.self, forKey: .tiedEmbedding)
        gelu = try values.decode(GELUApproximation.self, forKey: .gelu)
        batchSize = try values.decode(Int.self, forKey: .batchSize)
        accumulate = try values.decode(Int.self, forKey: .accumulate)
        let kind = try values.decode(OptimizerKind.self, forKey: .optimizer)
        let settings = try values.decode([String: String].self, forKey: .optimizerOptions)
        training.decay = try values.decode(Bool.self, forKey: .decayAll) ? .all : .exceptBiasesAndNorms
        minLR = try values.decode(Double.self, forKey: .minLR)
        warmup = try values.decode(Int.self, forKey: .warmup)
        decayIterations = try values.decode(Int.self, forKey: .decayIterations)
        clipNorm = try values.decodeIfPresent(Double.self, forKey: .clipNorm)
        seed = try values.decode(UInt64.self, forKey: .seed)
        training.nonFinite = try values.decodeIfPresent(NonFiniteGradientPolicy.self, forKey: .nonFinite) ?? .propagate
        layerNormEpsilon = try values.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? 1e-5
        positions = try values.decodeIfPresent(Int.self, forKey: .positions)
        optimizer = try OptimizerChoice(kind, settings: settings)
    }

    public func encode(to encoder: any Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(layers, forKey: .layers)
        try values.encode(heads, forKey: .heads)
        try values.encode(embedding, forKey: .embedding)
        try values.encode(context, forKey: .context)
        try values.encode(dropout, forKey: .dropout)
        try values.encode(bias, forKey: .bias)
        try values.encode(tiedEmbedding, forKey: .tiedEmbedding)
        try values.encode(gelu, forKey: .gelu)
        try values.encode(batchSize, forKey: .batchSize)
        try values.encode(accumulate, forKey: .accumulate)
        try values.encode(optimizer.kind, forKey: .optimizer)
        try values.encode(optimizer.given, forKey: .optimizerOptions)
        try values.encode(training.decay == .all, forKey: .decayAll)
        try values.encode(minLR, forKey: .minLR)
        try values.encode(warmup, forKey: .warmup)
        try values.encode(decayIterations, forKey: .decayIterations)
        try values.encodeIfPresent(clipNorm, forKey: .clipNorm)
        try values.encode(seed, forKey: .seed)
        // Written only when not PyTorch's (no flag sets it), so that every recipe saved before keeps its bytes.
        if training.nonFinite != .propagate { try values.encode(training.nonFinite, forKey: .nonFinite) }
        if layerNormEpsilon != 1e-5 { try values.encode(layerNormEpsilon, forKey: .layerNormEpsilon) }
        try values.encodeIfPresent(positions, forKey: .positions)
    }
}
