import Optim

/// Everything that defines a training run: saved in each checkpoint, so that `--resume` continues the same run.
///
/// The optimizer's options are kept as its declaration spells them (``optimizerOptions``: PyTorch's names, the
/// values as text), so that reading a checkpoint back parses and validates them exactly as the flags were.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public enum Model: String, Codable, CaseIterable, Sendable {
        case linear, mlp

        /// The options (by property name) this model reads; a run refuses the others rather than ignore them.
        public var reads: Set<String> { self == .mlp ? ["hidden"] : [] }
    }
    public enum Schedule: String, Codable, CaseIterable, Sendable {
        case none, plateau, cosine, warmupCosine = "warmup-cosine", onecycle

        /// Whether the schedule is laid out over a fixed number of epochs (``TrainingOptions/scheduleEpochs``).
        public var spansEpochs: Bool { [.cosine, .warmupCosine, .onecycle].contains(self) }

        /// The options (by property name) this schedule reads; a run refuses the others rather than ignore them.
        public var reads: Set<String> {
            switch self {
            case .none: []
            case .plateau: ["minLR", "plateauFactor", "plateauPatience"]
            case .cosine: ["scheduleEpochs", "minLR"]
            case .warmupCosine: ["scheduleEpochs", "minLR", "warmupSteps"]
            case .onecycle: ["scheduleEpochs", "pctStart"]
            }
        }
    }

    public var model: Model = .linear
    public var hidden: [Int] = []
    public var optimizer: OptimizerKind = .adamw
    /// The optimizer's options that differ from its defaults, by PyTorch's name, as text: `["lr": "0.01"]`.
    public var optimizerOptions: [String: String] = [:]
    public var noDecayBiasNorm = false
    public var batchSize = 64
    /// Micro-batches per optimizer step.
    public var accumulate = 1
    public var seed: UInt64 = 0
    public var scheduler: Schedule = .none
    /// The number of epochs the schedule spans (cosine, warmup-cosine, onecycle).
    public var scheduleEpochs = 5
    public var minLR = 0.0
    /// Warm-up steps of warmup-cosine; nil: 5% of the schedule.
    public var warmupSteps: Int?
    public var pctStart = 0.3
    public var plateauFactor = 0.1
    public var plateauPatience = 10
    public var nonFinite: NonFiniteGradientPolicy = .skip
    /// Clip the gradients' total 2-norm to this before each step.
    public var clipNorm: Double?
    /// Train on the first this many samples of the training set's order (nil: all), for quick experiments.
    public var trainSamples: Int?
    /// Hold out the last this many training samples and evaluate on them instead of the test set (model
    /// selection that never looks at the test set); nil: evaluate on the test set.
    public var validationSamples: Int?

    public init() {}

    /// The parameters the run does not decay: with ``noDecayBiasNorm``, biases and norm weights; nil: none (the
    /// seeds' example decays every parameter). The GPT's recipe says the same with the opposite default.
    public var excludedFromDecay: WeightDecayRule? { noDecayBiasNorm ? .biasesAndNorms : nil }

    /// The learning rate: the one set in ``optimizerOptions``, else the optimizer's default.
    public var lr: Double {
        get { number("lr") ?? 1e-3 }
        set { optimizerOptions["lr"] = String(newValue) }
    }

    /// λ: the one set in ``optimizerOptions``, else nil (the optimizer's default).
    public var weightDecay: Double? {
        get { number("weight_decay") }
        set { optimizerOptions["weight_decay"] = newValue.map { String($0) } }
    }

    /// Throws when the optimizer replaces the schedule (Schedule-Free) and a schedule is chosen too.
    public func checkScheduleFitsOptimizer() throws(ExperimentError) {
        guard optimizer.replacesSchedule, scheduler != .none else { return }
        throw .invalidArgument(name: "--scheduler", value: scheduler.rawValue,
                               reason: "cannot be used with --optimizer \(optimizer.rawValue): it replaces the schedule "
                                   + "by averaging its iterates")
    }

    /// The option `name` as a number: the one set, else the optimizer's default.
    public func number(_ name: String) -> Double? {
        (optimizerOptions[name] ?? optimizer.option(named: name)?.defaultText).flatMap(Double.init)
    }
}

