import Datasets
import Foundation
import NN
import Optim
import Training

/// The GPT as an experiment's task: nanoGPT's recipe (``Training/GPTRecipe``) trained for `iterations` on a text
/// whose validation split is cut in two: the **selection** half, on which λ and learning rates are chosen (and the
/// loss curve is drawn), and the **held-out** half, which only reports the chosen settings. A shorter training
/// text (`trainCharacters`) trained longer is the regime where regularization matters: without decay the
/// validation loss rises again.
public struct GPTExperiment: ExperimentTask {
    /// The texts of an experiment.
    public struct Data: Sendable {
        /// The training text (the first `trainCharacters` of the training split) with the selection half of the
        /// validation split as its validation split.
        public let corpus: TextCorpus
        /// The second half of the validation split.
        public let heldOut: ArraySlice<Int>

        /// - Throws: ``ExperimentError/invalidArgument(name:value:reason:)`` for a training part shorter than
        ///   1,000 characters or longer than the training split, or a validation split whose halves cannot each
        ///   hold one window of `context` + 1 characters (the runs' context, nanoGPT's 64 by default).
        public init(_ corpus: TextCorpus, trainCharacters: Int? = nil, context: Int = GPTRecipe().context) throws {
            let train = corpus.tokens(of: .train), validation = corpus.tokens(of: .validation)
            guard train.count >= 1000 else {
                throw ExperimentError.invalidArgument(
                    name: "--text", value: "(\(corpus.tokens.count) characters)",
                    reason: "too short: its training split (the first 90%) holds \(train.count) characters; the experiments train on at least 1000")
            }
            let count = trainCharacters ?? train.count
            guard (1000...train.count).contains(count) else {
                throw ExperimentError.invalidArgument(name: "--train-chars", value: "\(count)",
                                                      reason: "must be between 1000 and the training split's \(train.count)")
            }
            guard validation.count / 2 > context else {
                throw ExperimentError.invalidArgument(
                    name: "--text", value: "(\(corpus.tokens.count) characters)",
                    reason: "too short: its validation split (the last 10%) holds \(validation.count) characters; each half needs \(context + 1) (a context of \(context) and its target)")
            }
            let middle = validation.startIndex + validation.count / 2
            self.corpus = try TextCorpus(tokenizer: corpus.tokenizer, train: train.prefix(count),
                                              validation: validation[..<middle])
            heldOut = validation[middle...]
        }
    }

    public let data: Data
    public let iterations: Int
    /// Evaluate (nanoGPT's `estimate_loss`, and the decay report's inspection) every this many iterations.
    public let evalInterval: Int
    /// Called with each run's name when it ends.
    public let finished: (@Sendable (String) -> Void)?

    public init(data: Data, iterations: Int, evalInterval: Int, finished: (@Sendable (String) -> Void)? = nil) {
        self.data = data
        self.iterations = iterations
        self.evalInterval = evalInterval
        self.finished = finished
    }

    /// The kinds of GPT parameter the decay report groups by, in the order it prints them.
    public static let kinds = ["embedding", "attention", "mlp", "layernorm", "bias"]

    /// A learning rate comes with nanoGPT's schedule ending at a tenth of it: the floor moves with the rate.
    public func settings(_ settings: GPTRecipe, with change: SettingChange) throws -> GPTRecipe {
        var recipe = settings
        try recipe.training.change(change)
        if case .lr(let lr) = change { recipe.minLR = lr / 10 }
        return recipe
    }

    /// Trains `recipe` for ``iterations`` on ``data``, evaluating every ``evalInterval`` iterations. Every run is
    /// chosen on the selection half and reported on the held-out half, so `selecting` changes nothing.
    public func train(_ recipe: GPTRecipe, name: String, selecting: Bool, inspect: Inspection?) throws -> RunRecord {
        guard iterations >= 1 else {
            throw ExperimentError.invalidArgument(name: "--iters", value: "\(iterations)", reason: "must be at least 1")
        }
        guard evalInterval >= 1 else {
            throw ExperimentError.invalidArgument(name: "--eval-interval", value: "\(evalInterval)", reason: "must be at least 1")
        }
        var recipe = recipe
        recipe.decayIterations = iterations
        let run = try GPTRun(recipe: recipe, corpus: data.corpus)
        var curve: [RunRecord.Point] = []
        while run.iteration < iterations {
            try run.step()
            guard run.iteration % evalInterval == 0 || run.iteration == iterations else { continue }
            let estimate = try run.estimateLosses()
            curve.append(RunRecord.Point(step: run.iteration, trainLoss: estimate.train, evaluationLoss: estimate.validation))
            try inspect?(run.iteration, run.optimizer, run.parameters.map { ($0.name, $0) })
        }
        let norm = run.trainer.weightNorm
        let selection = try run.validationLoss(), heldOut = try run.loss(on: data.heldOut)
        finished?(name)
        return RunRecord(curve: curve, reported: heldOut, evaluationLoss: selection, accuracy: nil,
                         heldOutLoss: heldOut, trainLoss: curve.last?.trainLoss ?? .nan, weightNorm: norm)
    }

    /// The lowest loss on the whole selection half; among equals, the smaller λ. A non-finite loss is never chosen.
    public func selectionKey(of record: RunRecord, weightDecay: Double) -> [Double]? {
        record.evaluationLoss.isFinite ? [-record.evaluationLoss, -weightDecay] : nil
    }

    /// The parameters by kind (``kind(of:)``), in ``kinds`` order; a kind with none is left out.
    public func decayGroups(
        of parameters: [(name: String, parameter: Parameter)]
    ) -> [(name: String, parameters: [Parameter])] {
        Self.kinds.compactMap { kind in
            let members = parameters.filter { Self.kind(of: $0.name) == kind }.map(\.parameter)
            return members.isEmpty ? nil : (kind, members)
        }
    }

    /// Only decayed weights: with λ = 0 (biases and norms, unless the recipe decays all) nothing shrinks.
    public var decayedWeightsOnly: Bool { true }

    /// The kind of a GPT parameter, by nanoGPT's names: what the decay report groups by.
    public static func kind(of name: String) -> String {
        if name.hasSuffix("wte.weight") || name.hasSuffix("wpe.weight") || name == "lm_head.weight" { return "embedding" }
        if name.contains(".attn.") { return name.hasSuffix(".bias") ? "bias" : "attention" }
        if name.contains(".mlp.") { return name.hasSuffix(".bias") ? "bias" : "mlp" }
        if name.contains("ln_") { return name.hasSuffix(".bias") ? "bias" : "layernorm" }
        return "other"
    }
}
