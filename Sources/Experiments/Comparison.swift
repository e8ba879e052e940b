import Training

/// Several optimizers on the same task, seeds and schedule, each at its best weight decay: Adam with L2, AdamW and
/// SGD with momentum in `adamw compare`, on any ``ExperimentTask``.
///
/// Each contender's λ is chosen from its own grid with the first seed, by runs that select
/// (``ExperimentTask/train(_:name:selecting:inspect:)``: evaluated on data the reported figures never see) and the
/// task's ``ExperimentTask/selectionKey(of:weightDecay:)``. Then every contender trains once per seed with its
/// chosen λ, and the figures are summarized as mean ± standard deviation over the seeds.
public enum Comparison {
    /// One optimizer of the comparison: its settings (λ and seed aside) and the grid its λ is chosen from.
    public struct Contender<Settings: Sendable>: Sendable {
        public let name: String
        public let settings: Settings
        public let weightDecays: [Double]

        public init(name: String, settings: Settings, weightDecays: [Double]) {
            self.name = name
            self.settings = settings
            self.weightDecays = weightDecays
        }
    }

    /// The selecting run of one λ of one contender.
    public struct Selection: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let record: RunRecord
    }

    /// One seed's run of one contender at its chosen λ.
    public struct SeedRun: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let seed: UInt64
        public let record: RunRecord
    }

    /// A contender's final figures over the seeds (``RunRecord``'s, each as mean ± deviation).
    public struct Summary: Sendable {
        public let contender: String
        public let weightDecay: Double
        public let seeds: Int
        public let evaluationLoss: MeanAndDeviation
        /// MNIST's accuracy; nil for a task without one.
        public let accuracy: MeanAndDeviation?
        /// The GPT's held-out loss; nil for a task without one.
        public let heldOutLoss: MeanAndDeviation?
        public let trainLoss: MeanAndDeviation
        public let weightNorm: MeanAndDeviation
    }

    public struct Outcome: Sendable {
        public let selections: [Selection]
        public let runs: [SeedRun]
        public let summaries: [Summary]
    }

    /// Runs the comparison of `contenders` on `task`; `seeds` are the seeds of the final runs.
    public static func run<Task: ExperimentTask>(
        _ task: Task, contenders: [Contender<Task.Settings>], seeds: [UInt64], runner: ParallelRuns
    ) throws -> Outcome {
        guard !seeds.isEmpty else { throw ExperimentError.invalidArgument(name: "seeds", value: "none", reason: "need at least one") }
        if let empty = contenders.first(where: { $0.weightDecays.isEmpty }) {
            throw ExperimentError.invalidArgument(name: "weight decay grid of \(empty.name)", value: "[]",
                                                  reason: "needs at least one value")
        }
        @Sendable func settings(_ contender: Contender<Task.Settings>, weightDecay: Double, seed: UInt64) throws -> Task.Settings {
            try task.settings(contender.settings, with: .weightDecay(weightDecay), .seed(seed))
        }
        let candidates = contenders.flatMap { contender in contender.weightDecays.map { (contender, $0) } }
        let selections = try runner.map(candidates.count) { index in
            let (contender, weightDecay) = candidates[index]
            let record = try task.train(settings(contender, weightDecay: weightDecay, seed: seeds[0]),
                                        name: "choosing λ: \(contender.name) λ=\(weightDecay)", selecting: true,
                                        inspect: nil)
            return Selection(contender: contender.name, weightDecay: weightDecay, record: record)
        }
        let chosen = contenders.map { contender -> (Contender<Task.Settings>, Double) in
            let keyed = selections.filter { $0.contender == contender.name }.compactMap { selection in
                task.selectionKey(of: selection.record, weightDecay: selection.weightDecay).map { ($0, selection) }
            }
            let best = keyed.max { a, b in precedes(a.0, b.0) }
            return (contender, best?.1.weightDecay ?? contender.weightDecays[0])
        }
        let jobs = chosen.flatMap { pair in seeds.map { (pair.0, pair.1, $0) } }
        let runs = try runner.map(jobs.count) { index in
            let (contender, weightDecay, seed) = jobs[index]
            let record = try task.train(settings(contender, weightDecay: weightDecay, seed: seed),
                                        name: "\(contender.name) λ=\(weightDecay) seed \(seed)", selecting: false,
                                        inspect: nil)
            return SeedRun(contender: contender.name, weightDecay: weightDecay, seed: seed, record: record)
        }
        let summaries = chosen.map { contender, weightDecay in
            let own = runs.filter { $0.contender == contender.name }.map(\.record)
            func optional(_ values: [Double?]) -> MeanAndDeviation? {
                values.contains(nil) ? nil : MeanAndDeviation(values.compactMap { $0 })
            }
            return Summary(
                contender: contender.name, weightDecay: weightDecay, seeds: own.count,
                evaluationLoss: MeanAndDeviation(own.map(\.evaluationLoss)), accuracy: optional(own.map(\.accuracy)),
                heldOutLoss: optional(own.map(\.heldOutLoss)), trainLoss: MeanAndDeviation(own.map(\.trainLoss)),
                weightNorm: MeanAndDeviation(own.map(\.weightNorm)))
        }
        return Outcome(selections: selections, runs: runs, summaries: summaries)
    }

    /// Whether selection key `a` ranks below `b`: element by element, as tuples compare (a NaN ranks neither way).
    public static func precedes(_ a: [Double], _ b: [Double]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x < y }
        return a.count < b.count
    }

    /// The mean ± deviation over seeds of `metric` at each evaluation, with its step, for one contender's runs
    /// (as long as the shortest run).
    public static func curve(
        _ runs: [SeedRun], contender: String, _ metric: (RunRecord.Point) -> Double
    ) -> [(step: Int, value: MeanAndDeviation)] {
        let own = runs.filter { $0.contender == contender }.map(\.record.curve)
        let length = own.map(\.count).min() ?? 0
        return (0..<length).map { i in (own[0][i].step, MeanAndDeviation(own.map { metric($0[i]) })) }
    }
}
