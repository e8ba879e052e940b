import Datasets
import Foundation
import NN
import Optim
import Training

/// The GPT as an experiment's task: nanoGPT's recipe (``GPTRecipe``) trained for a fixed number of iterations on
/// a text whose validation split is cut in two: the **selection** half, on which λ and learning rates are chosen
/// (and the loss curve is drawn), and the **held-out** half, which only reports the chosen settings. A shorter
/// training text (`trainCharacters`) trained longer is the regime where regularization matters: without decay
/// the validation loss rises again.
public enum GPTExperiment {
    /// The texts of an experiment.
    public struct Data: Sendable {
        /// The training text (the first `trainCharacters` of the training split) with the selection half of the
        /// validation split as its validation split.
        public let corpus: CharacterCorpus
        /// The second half of the validation split.
        public let heldOut: ArraySlice<Int>

        /// - Throws: ``ExperimentError/invalidArgument(name:value:reason:)`` for a training part shorter than
        ///   1,000 characters or longer than the training split, or a validation split whose halves cannot each
        ///   hold one window of `context` + 1 characters (the runs' context, nanoGPT's 64 by default).
        public init(_ corpus: CharacterCorpus, trainCharacters: Int? = nil, context: Int = GPTRecipe().context) throws {
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
            self.corpus = try CharacterCorpus(characters: corpus.characters, train: train.prefix(count),
                                              validation: validation[..<middle])
            heldOut = validation[middle...]
        }
    }

    /// One point of a run's curve: nanoGPT's `estimate_loss` means (20 fixed batches of each).
    public struct Point: Sendable, Equatable {
        public let iteration: Int
        public let trainLoss: Double
        public let selectionLoss: Double
    }

    /// What one run ends with.
    public struct Result: Sendable {
        /// The last `estimate_loss` train mean.
        public let trainLoss: Double
        /// The whole selection half's loss, and the whole held-out half's.
        public let selectionLoss: Double
        public let heldOutLoss: Double
        public let curve: [Point]
        /// The Euclidean norm of every weight.
        public let weightNorm: Double
        public let seconds: Double
        public let skippedSteps: Int
    }

    /// Trains `recipe` for `iterations` on `data`, evaluating every `evalInterval` iterations; `inspect` sees the
    /// run after each evaluation (a decay report reads the optimizer's state there).
    public static func train(
        _ recipe: GPTRecipe, iterations: Int, evalInterval: Int, on data: Data,
        inspect: ((GPTRun) throws -> Void)? = nil
    ) throws -> Result {
        guard iterations >= 1 else {
            throw ExperimentError.invalidArgument(name: "--iters", value: "\(iterations)", reason: "must be at least 1")
        }
        guard evalInterval >= 1 else {
            throw ExperimentError.invalidArgument(name: "--eval-interval", value: "\(evalInterval)", reason: "must be at least 1")
        }
        var recipe = recipe
        recipe.decayIterations = iterations
        let run = try GPTRun(recipe: recipe, corpus: data.corpus)
        var curve: [Point] = []
        while run.iteration < iterations {
            try run.step()
            guard run.iteration % evalInterval == 0 || run.iteration == iterations else { continue }
            let estimate = try run.estimateLosses()
            curve.append(Point(iteration: run.iteration, trainLoss: estimate.train, selectionLoss: estimate.validation))
            try inspect?(run)
        }
        let norm = run.parameters.reduce(0.0) { sum, parameter in
            sum + parameter.values.reduce(0.0) { $0 + Double($1) * Double($1) }
        }.squareRoot()
        return Result(trainLoss: curve.last?.trainLoss ?? .nan, selectionLoss: try run.validationLoss(),
                      heldOutLoss: try run.loss(on: data.heldOut), curve: curve, weightNorm: norm,
                      seconds: run.trainSeconds, skippedSteps: run.optimizer.skippedSteps)
    }

    /// The kind of a GPT parameter, by nanoGPT's names: what the decay report groups by.
    public static func kind(of name: String) -> String {
        if name.hasSuffix("wte.weight") || name.hasSuffix("wpe.weight") || name == "lm_head.weight" { return "embedding" }
        if name.contains(".attn.") { return name.hasSuffix(".bias") ? "bias" : "attention" }
        if name.contains(".mlp.") { return name.hasSuffix(".bias") ? "bias" : "mlp" }
        if name.contains("ln_") { return name.hasSuffix(".bias") ? "bias" : "layernorm" }
        return "other"
    }
}
