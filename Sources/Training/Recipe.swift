import Optim

/// What every training run is made of, whatever its task: the optimizer with its typed options, which parameters
/// it decays, the batches, accumulation, clipping, the seed and what a non-finite gradient does. A task's options
/// hold one (``TrainingOptions/training``, ``GPTRecipe/training``) beside what only that task has (its model, data
/// and schedule: epochs for MNIST, iterations for the GPT), and a ``Trainer`` is built from it.
public struct Recipe: Equatable, Sendable {
    /// Which parameters the optimizer decays.
    public enum DecayMask: String, Equatable, Sendable {
        /// Every parameter (the seeds' example).
        case all
        /// All but biases and norm weights (those of fewer than 2 dimensions): the Transformer recipe, nanoGPT's
        /// two groups.
        case exceptBiasesAndNorms

        /// The rule that builds the optimizer's groups; nil: one group.
        public var excluded: WeightDecayRule? { self == .all ? nil : .biasesAndNorms }
    }

    /// The optimizer and its options, checked once where they were made.
    public var optimizer: OptimizerChoice
    public var decay: DecayMask
    /// Samples (MNIST) or sequences (a language model) per micro-batch.
    public var batchSize: Int
    /// Micro-batches per optimizer step (nanoGPT's gradient_accumulation_steps).
    public var accumulate = 1
    /// Clip the gradients' total 2-norm to this before each step; nil: no clipping.
    public var clipNorm: Double?
    /// Initialization, dropout and the data's order.
    public var seed: UInt64
    /// What a step does with a non-finite gradient.
    public var nonFinite: NonFiniteGradientPolicy

    public init(optimizer: OptimizerChoice = OptimizerChoice(.adamw), decay: DecayMask, batchSize: Int,
                accumulate: Int = 1, clipNorm: Double? = nil, seed: UInt64, nonFinite: NonFiniteGradientPolicy) {
        self.optimizer = optimizer
        self.decay = decay
        self.batchSize = batchSize
        self.accumulate = accumulate
        self.clipNorm = clipNorm
        self.seed = seed
        self.nonFinite = nonFinite
    }

    /// The optimizer over `parameters`, with the decay mask's groups and the non-finite policy.
    /// - Throws: the optimizer's ``Optim/OptimError`` for parameters it refuses.
    public func makeOptimizer(_ parameters: [Parameter], choice: OptimizerChoice? = nil) throws(OptimError) -> any Optimizer {
        let optimizer = try (choice ?? self.optimizer).makeOptimizer(parameters, excludingFromDecay: decay.excluded)
        optimizer.nonFiniteGradients = nonFinite
        return optimizer
    }

    /// Throws, naming `--accumulate`, unless its micro-batches can be dealt evenly to `ranks` processes.
    public func checkAccumulate(ranks: Int) throws(ExperimentError) {
        try ExperimentError.checkAccumulate(accumulate, ranks: ranks)
    }
}

/// A task's options: the ``Recipe`` every run has, beside what only the task has.
public protocol RecipeHolding: Sendable {
    var training: Recipe { get set }
}

extension RecipeHolding {
    // The recipe's fields under their own names, read and written through ``training``.
    public var optimizer: OptimizerChoice {
        get { training.optimizer }
        set { training.optimizer = newValue }
    }
    public var batchSize: Int {
        get { training.batchSize }
        set { training.batchSize = newValue }
    }
    public var accumulate: Int {
        get { training.accumulate }
        set { training.accumulate = newValue }
    }
    public var seed: UInt64 {
        get { training.seed }
        set { training.seed = newValue }
    }
    public var clipNorm: Double? {
        get { training.clipNorm }
        set { training.clipNorm = newValue }
    }
    public var nonFinite: NonFiniteGradientPolicy {
        get { training.nonFinite }
        set { training.nonFinite = newValue }
    }
}

extension TrainingOptions: RecipeHolding {}
extension GPTRecipe: RecipeHolding {}
