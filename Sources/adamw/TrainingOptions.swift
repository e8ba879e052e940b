/// Everything that defines a training run: saved in each checkpoint, so that `--resume` continues the same run.
struct TrainingOptions: Codable, Equatable {
    enum Model: String, Codable, CaseIterable { case linear, mlp }
    enum OptimizerKind: String, Codable, CaseIterable { case adamw, adam, sgd }
    enum Schedule: String, Codable, CaseIterable {
        case none, plateau, cosine, warmupCosine = "warmup-cosine", onecycle
    }
    enum NonFinite: String, Codable, CaseIterable { case skip, propagate, `throw` }

    var model: Model = .linear
    var hidden: [Int] = []
    var optimizer: OptimizerKind = .adamw
    var lr = 1e-3
    /// nil: the optimizer's default (0.01 for AdamW, 0 otherwise).
    var weightDecay: Double?
    var beta1 = 0.9, beta2 = 0.999
    var eps = 1e-8
    var amsgrad = false
    var momentum = 0.0
    var noDecayBiasNorm = false
    var batchSize = 64
    /// Micro-batches per optimizer step.
    var accumulate = 1
    var seed: UInt64 = 0
    var scheduler: Schedule = .none
    /// The number of epochs the schedule spans (cosine, warmup-cosine, onecycle).
    var scheduleEpochs = 5
    var minLR = 0.0
    /// Warm-up steps of warmup-cosine; nil: 5% of the schedule.
    var warmupSteps: Int?
    var pctStart = 0.3
    var plateauFactor = 0.1
    var plateauPatience = 10
    var nonFinite: NonFinite = .skip
    /// Clip the gradients' total 2-norm to this before each step.
    var clipNorm: Double?
}
