import Optim

/// Everything that defines a training run: saved in each checkpoint, so that `--resume` continues the same run.
///
/// The optimizer is an ``OptimizerChoice``: typed, checked once where it is made. It is saved as the options
/// given, by PyTorch's name (`optimizerOptions`), and reading a checkpoint back parses and validates them exactly
/// as the flags were.
public struct TrainingOptions: Equatable, Sendable {
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
    /// What every task's run has: the seeds' example decays every parameter, in batches of 64, from seed 0, and
    /// skips a step whose gradient is not finite.
    public var training = Recipe(decay: .all, batchSize: 64, seed: 0, nonFinite: .skip)
    public var scheduler: Schedule = .none
    /// The number of epochs the schedule spans (cosine, warmup-cosine, onecycle).
    public var scheduleEpochs = 5
    public var minLR = 0.0
    /// Warm-up steps of warmup-cosine; nil: 5% of the schedule.
    public var warmupSteps: Int?
    public var pctStart = 0.3
    public var plateauFactor = 0.1
    public var plateauPatience = 10
    /// Train on the first this many samples of the training set's order (nil: all), for quick experiments.
    public var trainSamples: Int?
    /// Hold out the last this many training samples and evaluate on them instead of the test set (model
    /// selection that never looks at the test set); nil: evaluate on the test set.
    public var validationSamples: Int?

    public init() {}

    /// Throws when the optimizer replaces the schedule (Schedule-Free) and a schedule is chosen too.
    public func checkScheduleFitsOptimizer() throws(ExperimentError) {
        guard optimizer.kind.replacesSchedule, scheduler != .none else { return }
        throw .invalidArgument(name: "--scheduler", value: scheduler.rawValue,
                               reason: "cannot be used with --optimizer \(optimizer.kind.rawValue): it replaces the schedule "
                                   + "by averaging its iterates")
    }
}

extension TrainingOptions: Codable {
    // The keys and layout a synthesized conformance had, so that saved options keep their bytes; the
    // optimizer is two entries, its kind and the options given.
    enum CodingKeys: String, CodingKey {
        case model, hidden, optimizer, optimizerOptions, noDecayBiasNorm, batchSize, accumulate, seed, scheduler
        case scheduleEpochs, minLR, warmupSteps, pctStart, plateauFactor, plateauPatience, nonFinite, clipNorm
        case trainSamples, validationSamples
    }

    /// - Throws: a `DecodingError` for JSON that is not a run's options, or the ``OptimError`` of an optimizer
    ///   option the file holds that the optimizer refuses (as the flag would be).
    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        model = try values.decode(Model.self, forKey: .model)
        hidden = try values.decode([Int].self, forKey: .hidden)
        let kind = try values.decode(OptimizerKind.self, forKey: .optimizer)
        let settings = try values.decode([String: String].self, forKey: .optimizerOptions)
        training.decay = try values.decode(Bool.self, forKey: .noDecayBiasNorm) ? .exceptBiasesAndNorms : .all
        batchSize = try values.decode(Int.self, forKey: .batchSize)
        accumulate = try values.decode(Int.self, forKey: .accumulate)
        seed = try values.decode(UInt64.self, forKey: .seed)
        scheduler = try values.decode(Schedule.self, forKey: .scheduler)
        scheduleEpochs = try values.decode(Int.self, forKey: .scheduleEpochs)
        minLR = try values.decode(Double.self, forKey: .minLR)
        warmupSteps = try values.decodeIfPresent(Int.self, forKey: .warmupSteps)
        pctStart = try values.decode(Double.self, forKey: .pctStart)
        plateauFactor = try values.decode(Double.self, forKey: .plateauFactor)
        plateauPatience = try values.decode(Int.self, forKey: .plateauPatience)
        nonFinite = try values.decode(NonFiniteGradientPolicy.self, forKey: .nonFinite)
        clipNorm = try values.decodeIfPresent(Double.self, forKey: .clipNorm)
        trainSamples = try values.decodeIfPresent(Int.self, forKey: .trainSamples)
        validationSamples = try values.decodeIfPresent(Int.self, forKey: .validationSamples)
        optimizer = try OptimizerChoice(kind, settings: settings)
    }

    public func encode(to encoder: any Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(model, forKey: .model)
        try values.encode(hidden, forKey: .hidden)
        try values.encode(optimizer.kind, forKey: .optimizer)
        try values.encode(optimizer.given, forKey: .optimizerOptions)
        try values.encode(training.decay == .exceptBiasesAndNorms, forKey: .noDecayBiasNorm)
        try values.encode(batchSize, forKey: .batchSize)
        try values.encode(accumulate, forKey: .accumulate)
        try values.encode(seed, forKey: .seed)
        try values.encode(scheduler, forKey: .scheduler)
        try values.encode(scheduleEpochs, forKey: .scheduleEpochs)
        try values.encode(minLR, forKey: .minLR)
        try values.encodeIfPresent(warmupSteps, forKey: .warmupSteps)
        try values.encode(pctStart, forKey: .pctStart)
        try values.encode(plateauFactor, forKey: .plateauFactor)
        try values.encode(plateauPatience, forKey: .plateauPatience)
        try values.encode(nonFinite, forKey: .nonFinite)
        try values.encodeIfPresent(clipNorm, forKey: .clipNorm)
        try values.encodeIfPresent(trainSamples, forKey: .trainSamples)
        try values.encodeIfPresent(validationSamples, forKey: .validationSamples)
    }
}
