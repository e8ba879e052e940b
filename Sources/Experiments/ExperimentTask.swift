import Optim
import Training

/// What an experiment trains, written once for every study (``Comparison``, ``Sweep``, ``DecayReport``): a task's
/// settings, changed by the values a study varies, trained to the end and measured as a ``RunRecord``.
/// ``MNISTExperiment`` (an MLP by epochs) and ``GPTExperiment`` (nanoGPT's recipe by iterations) conform; a third
/// task is one more conformance.
public protocol ExperimentTask: Sendable {
    /// What defines one run (``Training/TrainingOptions``, ``Training/GPTRecipe``).
    associatedtype Settings: RecipeHolding

    /// `settings` with one value a study varies changed (and whatever the task ties to it). The default changes
    /// the value in the settings' ``Training/Recipe`` and nothing else.
    /// - Throws: the optimizer's ``Optim/OptimError`` for a value it refuses.
    func settings(_ settings: Settings, with change: SettingChange) throws -> Settings

    /// Trains `settings` to the end as the run called `name` (in progress reports). A `selecting` run is one whose
    /// result chooses a value (a λ): it is evaluated on data the reported figure never sees. `inspect` sees the
    /// run after each evaluation: the step (epoch or iteration), the optimizer and the named parameters.
    func train(_ settings: Settings, name: String, selecting: Bool, inspect: Inspection?) throws -> RunRecord

    /// The key a λ is chosen by: the largest wins, keys compared element by element, the first of equals kept;
    /// nil when the run cannot be chosen (a non-finite loss).
    func selectionKey(of record: RunRecord, weightDecay: Double) -> [Double]?

    /// The groups a decay report cuts into deciles, in report order, with their parameters.
    func decayGroups(of parameters: [(name: String, parameter: Parameter)]) -> [(name: String, parameters: [Parameter])]
    /// Whether the decay report leaves out weights that no decay touches (λ = 0 in their group).
    var decayedWeightsOnly: Bool { get }
}

/// A value a study varies between runs.
public enum SettingChange: Sendable {
    /// The optimizer's learning rate.
    case lr(Double)
    /// Weight decay λ.
    case weightDecay(Double)
    case seed(UInt64)
    /// Another optimizer, with the options given that it has too (``Optim/OptimizerChoice/switched(to:)``).
    case optimizer(OptimizerKind)
}

extension ExperimentTask {
    public func settings(_ settings: Settings, with change: SettingChange) throws -> Settings {
        var settings = settings
        try settings.training.change(change)
        return settings
    }

    /// `settings` with `changes` made in order.
    public func settings(_ settings: Settings, with changes: SettingChange...) throws -> Settings {
        try changes.reduce(settings) { try self.settings($0, with: $1) }
    }
}

/// What an ``ExperimentTask/train(_:name:selecting:inspect:)`` caller sees after each evaluation.
public typealias Inspection = (_ step: Int, _ optimizer: any Optimizer,
                               _ parameters: [(name: String, parameter: Parameter)]) throws -> Void

/// What one run of an experiment ends with, whatever its task.
public struct RunRecord: Sendable {
    /// One evaluation along the run.
    public struct Point: Sendable, Equatable {
        /// The epoch or iteration.
        public let step: Int
        /// MNIST: the epoch's mean training loss; GPT: nanoGPT's `estimate_loss` train mean.
        public let trainLoss: Double
        /// MNIST: the evaluation set's loss; GPT: the selection half's `estimate_loss` mean.
        public let evaluationLoss: Double
        /// MNIST: the evaluation set's accuracy; nil for the GPT.
        public let accuracy: Double?
        /// MNIST: the learning rate at the epoch's end; nil for the GPT.
        public let learningRate: Double?

        public init(step: Int, trainLoss: Double, evaluationLoss: Double, accuracy: Double? = nil,
                    learningRate: Double? = nil) {
            self.step = step
            self.trainLoss = trainLoss
            self.evaluationLoss = evaluationLoss
            self.accuracy = accuracy
            self.learningRate = learningRate
        }
    }

    public let curve: [Point]
    /// The figure a study reports and ranks by, lower is better: MNIST's test error in percent, the GPT's
    /// held-out loss.
    public let reported: Double
    /// The loss a run is selected by: MNIST's evaluation loss after the last epoch, the GPT's loss over the whole
    /// selection half.
    public let evaluationLoss: Double
    /// MNIST's accuracy after the last epoch; nil for the GPT.
    public let accuracy: Double?
    /// The GPT's loss over the whole held-out half; nil for MNIST.
    public let heldOutLoss: Double?
    /// The last training loss of ``curve``.
    public let trainLoss: Double
    /// The Euclidean norm of every weight.
    public let weightNorm: Double

    public init(curve: [Point], reported: Double, evaluationLoss: Double, accuracy: Double?, heldOutLoss: Double?,
                trainLoss: Double, weightNorm: Double) {
        self.curve = curve
        self.reported = reported
        self.evaluationLoss = evaluationLoss
        self.accuracy = accuracy
        self.heldOutLoss = heldOutLoss
        self.trainLoss = trainLoss
        self.weightNorm = weightNorm
    }
}

extension Recipe {
    /// Makes `change` (a value a study varies) in the recipe.
    /// - Throws: the optimizer's ``Optim/OptimError`` for a value it refuses.
    public mutating func change(_ change: SettingChange) throws {
        switch change {
        case .lr(let lr): optimizer = try optimizer.setting("lr", to: String(lr))
        case .weightDecay(let weightDecay): optimizer = try optimizer.setting("weight_decay", to: String(weightDecay))
        case .seed(let seed): self.seed = seed
        case .optimizer(let kind): optimizer = try optimizer.switched(to: kind)
        }
    }
}
