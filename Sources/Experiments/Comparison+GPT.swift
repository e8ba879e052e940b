import Foundation
import Training

extension Comparison {
    /// One optimizer of a GPT comparison: its recipe (λ aside) and the grid its λ is chosen from.
    public struct GPTContender: Sendable {
        public let name: String
        public let recipe: GPTRecipe
        public let weightDecays: [Double]

        public init(name: String, recipe: GPTRecipe, weightDecays: [Double]) {
            self.name = name
            self.recipe = recipe
            self.weightDecays = weightDecays
        }
    }

    /// The selection loss of one λ of one contender (first seed).
    public struct GPTSelection: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let selectionLoss: Double
    }

    /// One seed's run of one contender at its chosen λ.
    public struct GPTSeedRun: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let seed: UInt64
        public let result: GPTExperiment.Result
    }

    /// A contender's figures over the seeds: the held-out half's loss is the reported one.
    public struct GPTSummary: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let heldOutLoss: MeanAndDeviation
        public let selectionLoss: MeanAndDeviation
        public let trainLoss: MeanAndDeviation
        public let weightNorm: MeanAndDeviation
    }

    /// The comparison on the GPT: each contender's λ chosen from its grid by the whole selection half's loss
    /// (first seed; ties to the smaller λ), then every contender trained once per seed at its λ, reporting the
    /// held-out half's loss as mean ± deviation. The λ is never chosen on the reported half.
    public static func runGPT(
        contenders: [GPTContender], seeds: [UInt64], iterations: Int, evalInterval: Int, data: GPTExperiment.Data,
        runner: ParallelRuns, finished: (@Sendable (String) -> Void)? = nil
    ) throws -> (selections: [GPTSelection], runs: [GPTSeedRun], summaries: [GPTSummary]) {
        guard !seeds.isEmpty else { throw ExperimentError.invalidArgument(name: "seeds", value: "none", reason: "need at least one") }
        if let empty = contenders.first(where: { $0.weightDecays.isEmpty }) {
            throw ExperimentError.invalidArgument(name: "weight decay grid of \(empty.name)", value: "[]",
                                                  reason: "needs at least one value")
        }
        @Sendable func recipe(_ contender: GPTContender, weightDecay: Double, seed: UInt64) -> GPTRecipe {
            var recipe = contender.recipe
            recipe.optimizerOptions["weight_decay"] = String(weightDecay)
            recipe.seed = seed
            return recipe
        }
        let candidates = contenders.flatMap { contender in contender.weightDecays.map { (contender, $0) } }
        let selections = try runner.map(candidates.count) { index in
            let (contender, weightDecay) = candidates[index]
            let result = try GPTExperiment.train(recipe(contender, weightDecay: weightDecay, seed: seeds[0]),
                                                 iterations: iterations, evalInterval: evalInterval, on: data)
            finished?("choosing λ: \(contender.name) λ=\(weightDecay)")
            return GPTSelection(contender: contender.name, weightDecay: weightDecay, selectionLoss: result.selectionLoss)
        }
        let chosen = contenders.map { contender -> (GPTContender, Double) in
            let own = selections.filter { $0.contender == contender.name && $0.selectionLoss.isFinite }
            let best = own.min { ($0.selectionLoss, $0.weightDecay) < ($1.selectionLoss, $1.weightDecay) }
            return (contender, best?.weightDecay ?? contender.weightDecays[0])
        }
        let jobs = chosen.flatMap { pair in seeds.map { (pair.0, pair.1, $0) } }
        let runs = try runner.map(jobs.count) { index in
            let (contender, weightDecay, seed) = jobs[index]
            let result = try GPTExperiment.train(recipe(contender, weightDecay: weightDecay, seed: seed),
                                                 iterations: iterations, evalInterval: evalInterval, on: data)
            finished?("\(contender.name) λ=\(weightDecay) seed \(seed)")
            return GPTSeedRun(contender: contender.name, weightDecay: weightDecay, seed: seed, result: result)
        }
        let summaries = chosen.map { contender, weightDecay in
            let own = runs.filter { $0.contender == contender.name }.map(\.result)
            return GPTSummary(contender: contender.name, weightDecay: weightDecay,
                              heldOutLoss: MeanAndDeviation(own.map(\.heldOutLoss)),
                              selectionLoss: MeanAndDeviation(own.map(\.selectionLoss)),
                              trainLoss: MeanAndDeviation(own.map(\.trainLoss)),
                              weightNorm: MeanAndDeviation(own.map(\.weightNorm)))
        }
        return (selections, runs, summaries)
    }
}
