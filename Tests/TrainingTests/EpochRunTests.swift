import Datasets
import Optim
import Testing
import Training

struct EpochRunTests {
    /// A held-out validation split is what a run evaluates on; it and the training subset are checked.
    @Test func aRunTrainsOnItsSubsetAndEvaluatesOnItsValidationSplit() throws {
        let (train, test) = try MNIST.load()
        var options = TrainingOptions()
        options.trainSamples = 1000
        options.validationSamples = 800
        options.batchSize = 100
        let run = try TrainingRun(options: options, train: train, test: test)
        #expect(run.batchesPerEpoch == 10)
        let result = try run.runEpoch()
        let correct = result.testAccuracy * 800
        #expect(abs(correct - correct.rounded()) < 1e-9, "an accuracy over 800 validation samples")
        options.validationSamples = train.count
        #expect(throws: DatasetError.invalidArgument(
            name: "--validation-samples (at most 59999 of the training set's 60000)", value: train.count)) {
            try TrainingRun(options: options, train: train, test: test)
        }
        options.validationSamples = nil
        options.trainSamples = 0
        #expect(throws: DatasetError.invalidArgument(
            name: "--train-samples (the training set has 60000)", value: 0)) {
            try TrainingRun(options: options, train: train, test: test)
        }
    }

    /// A checkpoint refused for its optimizer leaves the run as it was, model included (no half-load).
    @Test func aRefusedCheckpointLeavesTheRunUntouched() throws {
        let (train, test) = try MNIST.load()
        var options = TrainingOptions()
        options.trainSamples = 500
        options.batchSize = 100
        let run = try TrainingRun(options: options, train: train, test: test)
        try run.runEpoch()
        options.optimizer = OptimizerChoice(.sgd)
        let other = try TrainingRun(options: options, train: train, test: test)
        try other.runEpoch()
        try other.runEpoch()
        let before = run.model.parameters().map(\.values)
        #expect(throws: StateMismatch.self) { try run.load(try other.stateDict()) }
        #expect(run.model.parameters().map(\.values) == before)
        #expect(run.epoch == 1 && run.steps == 5)
    }

    /// Schedule-Free replaces the schedule: a run (from options a study or a checkpoint made) refuses both, and
    /// without one it trains, evaluating at the averaged weights and stepping at the others.
    @Test func aScheduleFreeRunHasNoScheduleAndEvaluatesAtItsAverage() throws {
        let (train, test) = try MNIST.load()
        var options = TrainingOptions()
        options.optimizer = OptimizerChoice(.adamwScheduleFree)
        options.trainSamples = 1000
        options.batchSize = 100
        options.scheduler = .cosine
        #expect(throws: ExperimentError.invalidArgument(
            name: "--scheduler", value: "cosine",
            reason: "cannot be used with --optimizer adamw-schedulefree: it replaces the schedule by averaging its iterates")) {
            try TrainingRun(options: options, train: train, test: test)
        }
        options.scheduler = .none
        let run = try TrainingRun(options: options, train: train, test: test)
        let first = try run.runEpoch()
        #expect(run.trainer.optimizer.mode == .eval, "evaluated at the average")
        try run.runEpoch()
        #expect(run.trainer.optimizer.mode == .eval && first.testAccuracy > 0.5)
    }
}
