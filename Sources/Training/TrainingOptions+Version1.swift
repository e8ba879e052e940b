import Optim

extension TrainingOptions {
    /// The options of a run saved before each optimizer declared its own options (format 1): read, never
    /// written. Its optimizer fields become ``TrainingOptions/optimizerOptions`` entries, so the run continues
    /// with the same values.
    struct Version1: Decodable {
        enum Kind: String, Decodable { case adamw, adam, sgd }
        var model: Model
        var hidden: [Int]
        var optimizer: Kind
        var lr: Double
        var weightDecay: Double?
        var beta1, beta2, eps: Double
        var amsgrad: Bool
        var momentum: Double
        var noDecayBiasNorm: Bool
        var batchSize, accumulate: Int
        var seed: UInt64
        var scheduler: Schedule
        var scheduleEpochs: Int
        var minLR: Double
        var warmupSteps: Int?
        var pctStart, plateauFactor: Double
        var plateauPatience: Int
        var nonFinite: NonFiniteGradientPolicy
        var clipNorm: Double?
        var decayConvention: String?
        var trainSamples: Int?
        var validationSamples: Int?

        func converted() throws(OptimError) -> TrainingOptions {
            var options = TrainingOptions()
            options.model = model
            options.hidden = hidden
            options.training.decay = noDecayBiasNorm ? .exceptBiasesAndNorms : .all
            options.batchSize = batchSize
            options.accumulate = accumulate
            options.seed = seed
            options.scheduler = scheduler
            options.scheduleEpochs = scheduleEpochs
            options.minLR = minLR
            options.warmupSteps = warmupSteps
            options.pctStart = pctStart
            options.plateauFactor = plateauFactor
            options.plateauPatience = plateauPatience
            options.nonFinite = nonFinite
            options.clipNorm = clipNorm
            options.trainSamples = trainSamples
            options.validationSamples = validationSamples
            var settings = ["lr": String(lr)]
            if let weightDecay { settings["weight_decay"] = String(weightDecay) }
            let kind: OptimizerKind
            switch optimizer {
            case .adamw, .adam:
                kind = optimizer == .adamw ? .adamw : .adam
                settings["betas"] = "\(beta1),\(beta2)"
                settings["eps"] = String(eps)
                settings["amsgrad"] = String(amsgrad)
                if optimizer == .adamw, let decayConvention { settings["decay_convention"] = decayConvention }
            case .sgd:
                kind = .sgd
                settings["momentum"] = String(momentum)
            }
            options.optimizer = try OptimizerChoice(kind, settings: settings)
            return options
        }
    }

    /// The options saved in a checkpoint's `options` entry, in the current format or format 1; nil when they are
    /// in neither.
    /// - Throws: the ``OptimError`` of an optimizer option the optimizer refuses.
    public static func decodeSaved(_ text: String) throws(OptimError) -> TrainingOptions? {
        do {
            return try StateJSON.decodeChecked(TrainingOptions.self, from: text)
                ?? StateJSON.decode(Version1.self, from: text)?.converted()
        } catch let error as OptimError {
            throw error
        } catch {
            return nil
        }
    }
}
