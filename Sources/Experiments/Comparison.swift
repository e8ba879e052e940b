import Datasets
import NN
import Training

/// Adam with L2, AdamW and SGD with momentum on the same model, seeds and schedule, each at its best weight decay.
///
/// Each optimizer's λ is chosen from its own grid by validation accuracy — a split held out of the training set
/// (`validationSamples`), with the first seed — so the choice never looks at the test set; ties go to the lower
/// validation loss.
/// Then every optimizer trains on the whole training set once per seed with its chosen λ, and the test metrics
/// are summarized as mean ± standard deviation over the seeds.
public enum Comparison {
    /// One optimizer of the comparison: its options (λ aside) and the grid its λ is chosen from.
    public struct Contender: Sendable {
        public let name: String
        public let options: TrainingOptions
        public let weightDecays: [Double]

        public init(name: String, options: TrainingOptions, weightDecays: [Double]) {
            self.name = name
            self.options = options
            self.weightDecays = weightDecays
        }
    }

    /// The validation result of one λ of one contender.
    public struct Selection: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let validationAccuracy: Double
        public let validationLoss: Double
    }

    /// One seed's run of one contender at its chosen λ.
    public struct SeedRun: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let seed: UInt64
        public let history: [TrainingRun.EpochResult]
        public let weightNorm: Double
    }

    /// A contender's final figures over the seeds.
    public struct Summary: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let testAccuracy: MeanAndDeviation
        public let testLoss: MeanAndDeviation
        public let trainLoss: MeanAndDeviation
        public let weightNorm: MeanAndDeviation
    }

    public struct Outcome: Sendable {
        public let selections: [Selection]
        public let runs: [SeedRun]
        public let summaries: [Summary]
    }

    /// Runs the comparison. `validationSamples` are held out of the training set to choose λ; `seeds` are the
    /// seeds of the final runs, `epochs` the length of every run.
    public static func run(
        contenders: [Contender], seeds: [UInt64], epochs: Int, validationSamples: Int, train: MNIST, test: MNIST,
        runner: ParallelRuns, progress: EpochProgress? = nil
    ) throws -> Outcome {
        guard !seeds.isEmpty else { throw ExperimentError.invalidArgument(name: "seeds", value: "none", reason: "need at least one") }
        guard epochs >= 1 else {
            throw ExperimentError.invalidArgument(name: "epochs", value: "\(epochs)", reason: "must be at least 1")
        }
        if let empty = contenders.first(where: { $0.weightDecays.isEmpty }) {
            throw ExperimentError.invalidArgument(name: "weight decay grid of \(empty.name)", value: "[]",
                                                  reason: "needs at least one value")
        }
        let candidates = contenders.flatMap { contender in contender.weightDecays.map { (contender, $0) } }
        let selections = try runner.map(candidates.count) { index in
            let (contender, weightDecay) = candidates[index]
            var options = contender.options
            options.weightDecay = weightDecay
            options.seed = seeds[0]
            options.validationSamples = validationSamples
            let last = try TrainingRun(options: options, train: train, test: test)
                .runEpochs(epochs, reportingAs: "choosing λ: \(contender.name) λ=\(weightDecay)", to: progress)
            return Selection(contender: contender.name, weightDecay: weightDecay,
                             validationAccuracy: last.testAccuracy, validationLoss: last.testLoss)
        }
        let chosen = contenders.map { contender -> (Contender, Double) in
            let own = selections.filter { $0.contender == contender.name }
            // The highest validation accuracy; among equals, the lowest validation loss.
            let best = own.max { a, b in
                (a.validationAccuracy, -a.validationLoss) < (b.validationAccuracy, -b.validationLoss)
            }
            return (contender, best?.weightDecay ?? contender.weightDecays[0])
        }
        let jobs = chosen.flatMap { pair in seeds.map { (pair.0, pair.1, $0) } }
        let runs = try runner.map(jobs.count) { index in
            let (contender, weightDecay, seed) = jobs[index]
            var options = contender.options
            options.weightDecay = weightDecay
            options.seed = seed
            options.validationSamples = nil
            let run = try TrainingRun(options: options, train: train, test: test)
            try run.runEpochs(epochs, reportingAs: "\(contender.name) λ=\(weightDecay) seed \(seed)", to: progress)
            return SeedRun(contender: contender.name, weightDecay: weightDecay, seed: seed, history: run.history,
                           weightNorm: run.weightNorm)
        }
        let summaries = chosen.map { contender, weightDecay in
            let own = runs.filter { $0.contender == contender.name }
            let finals = own.compactMap(\.history.last)
            return Summary(
                contender: contender.name, weightDecay: weightDecay,
                testAccuracy: MeanAndDeviation(finals.map(\.testAccuracy)),
                testLoss: MeanAndDeviation(finals.map(\.testLoss)),
                trainLoss: MeanAndDeviation(finals.map(\.trainLoss)),
                weightNorm: MeanAndDeviation(own.map(\.weightNorm)))
        }
        return Outcome(selections: selections, runs: runs, summaries: summaries)
    }

    /// The mean ± deviation over seeds of `metric` at each epoch, for one contender's runs.
    public static func curve(
        _ runs: [SeedRun], contender: String, _ metric: (TrainingRun.EpochResult) -> Double
    ) -> [MeanAndDeviation] {
        let own = runs.filter { $0.contender == contender }
        let epochs = own.map(\.history.count).min() ?? 0
        return (0..<epochs).map { epoch in MeanAndDeviation(own.map { metric($0.history[epoch]) }) }
    }
}
