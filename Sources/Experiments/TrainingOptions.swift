/// Everything that defines a training run: saved in each checkpoint, so that `--resume` continues the same run.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public enum Model: String, Codable, CaseIterable, Sendable { case linear, mlp }
    public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case adamw, adam, sgd }
    public enum Schedule: String, Codable, CaseIterable, Sendable {
        case none, plateau, cosine, warmupCosine = "warmup-cosine", onecycle

        /// Whether the schedule is laid out over a fixed number of epochs (``TrainingOptions/scheduleEpochs``).
        public var spansEpochs: Bool { [.cosine, .warmupCosine, .onecycle].contains(self) }
    }
    public enum NonFinite: String, Codable, CaseIterable, Sendable { case skip, propagate, `throw` }
    public enum DecayConvention: String, Codable, CaseIterable, Sendable { case lr, schedule }

    public var model: Model = .linear
    public var hidden: [Int] = []
    public var optimizer: OptimizerKind = .adamw
    public var lr = 1e-3
    /// nil: the optimizer's default (0.01 for AdamW, 0 otherwise).
    public var weightDecay: Double?
    public var beta1 = 0.9, beta2 = 0.999
    public var eps = 1e-8
    public var amsgrad = false
    public var momentum = 0.0
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
    public var nonFinite: NonFinite = .skip
    /// Clip the gradients' total 2-norm to this before each step.
    public var clipNorm: Double?
    /// AdamW's decay convention: lr (PyTorch, θ·(1 − lr·λ)) or schedule (θ·(1 − lr/initialLR·λ)); nil is lr.
    public var decayConvention: DecayConvention?
    /// Train on the first this many samples of the training set's order (nil: all), for quick experiments.
    public var trainSamples: Int?
    /// Hold out the last this many training samples and evaluate on them instead of the test set (model
    /// selection that never looks at the test set); nil: evaluate on the test set.
    public var validationSamples: Int?

    public init() {}
}
