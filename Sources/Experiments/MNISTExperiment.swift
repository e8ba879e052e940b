import Datasets
import NN
import Optim
import Training

/// The MNIST MLP as an experiment's task: each run a ``Training/TrainingRun`` of its options for `epochs` epochs,
/// evaluated on the test set — or, for a run that selects a value, on `validationSamples` held out of the training
/// set, so that a choice never looks at the test set. It reports the test error in percent.
public struct MNISTExperiment: ExperimentTask {
    public let train: MNIST
    public let test: MNIST
    public let epochs: Int
    /// Training samples a selecting run holds out and evaluates on.
    public let validationSamples: Int?
    /// Called after each epoch of any run, from the thread that trained it.
    public let progress: EpochProgress?

    public init(train: MNIST, test: MNIST, epochs: Int, validationSamples: Int? = nil, progress: EpochProgress? = nil) {
        self.train = train
        self.test = test
        self.epochs = epochs
        self.validationSamples = validationSamples
        self.progress = progress
    }

    public func train(_ settings: TrainingOptions, name: String, selecting: Bool,
                      inspect: Inspection?) throws -> RunRecord {
        guard epochs >= 1 else {
            throw ExperimentError.invalidArgument(name: "epochs", value: "\(epochs)", reason: "must be at least 1")
        }
        var options = settings
        options.validationSamples = selecting ? validationSamples : nil
        let run = try TrainingRun(options: options, train: train, test: test)
        for _ in 0..<epochs {
            let result = try run.runEpoch()
            progress?(name, result)
            try inspect?(result.epoch, run.optimizer, run.model.namedParameters())
        }
        let last = run.history[run.history.count - 1]
        return RunRecord(
            curve: run.history.map {
                RunRecord.Point(step: $0.epoch, trainLoss: $0.trainLoss, evaluationLoss: $0.testLoss,
                                accuracy: $0.testAccuracy, learningRate: $0.learningRate)
            },
            reported: 100 * (1 - last.testAccuracy), evaluationLoss: last.testLoss, accuracy: last.testAccuracy,
            heldOutLoss: nil, trainLoss: last.trainLoss, weightNorm: run.weightNorm)
    }

    /// The highest evaluation accuracy; among equals, the lowest evaluation loss.
    public func selectionKey(of record: RunRecord, weightDecay: Double) -> [Double]? {
        [record.accuracy ?? .nan, -record.evaluationLoss]
    }

    /// Each parameter on its own, by its name in the model.
    public func decayGroups(
        of parameters: [(name: String, parameter: Parameter)]
    ) -> [(name: String, parameters: [Parameter])] {
        parameters.map { ($0.name, [$0.parameter]) }
    }

    public var decayedWeightsOnly: Bool { false }
}
