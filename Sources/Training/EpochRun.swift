import Checkpoints
import DataParallel
import Datasets
import Foundation
import NN

/// What an epoch of an ``EpochRun`` ends with.
public struct EpochResult: Sendable {
    public let epoch: Int
    /// The mean training loss over the epoch's samples.
    public let trainLoss: Double
    /// Loss and accuracy on the evaluation set: the test set, or the validation split when one is held out.
    public let testLoss: Double
    public let testAccuracy: Double
    public let learningRate: Double
    public let skippedSteps: Int
    public let seconds: Double
}

/// One training run of an ``EpochTask``: the model, optimizer, schedule and data order its options define, the
/// seeds' loop over epochs, and its whole state as a checkpoint. `adamw train` and the experiments are made of
/// these, on ``MNISTTask`` (``TrainingRun``).
///
/// The loop is the example's — `optimizer.zeroGrad(); let loss = try crossEntropy(model(data), target);
/// try loss.backward(); try optimizer.step()` — as the ``Trainer`` takes it, with gradient accumulation over
/// `accumulate` micro-batches, optional clipping, and a learning-rate schedule stepped after each optimizer step
/// (or, for plateau, after each epoch's evaluation).
///
/// A run draws its random numbers (initialization, then a dropout seed a micro-batch) from a generator of its own,
/// so several runs can train at once on several threads, each reproducible.
///
/// **Data parallel.** Given a ``DataParallel/Communicator`` of N processes, the run is one rank of a ZeRO-1 run
/// (``DataParallel/ShardedOptimizer``): the `accumulate` micro-batches of a step are dealt round by round,
/// micro-batch `round·N + r` to rank r (so `accumulate` must be a multiple of N), and the run is bitwise one
/// process's run.
public final class EpochRun<Task: EpochTask> {
    public typealias EpochResult = Training.EpochResult

    public let options: TrainingOptions
    public let trainer: Trainer<Task>
    public var task: Task { trainer.task }
    public var model: Task.Model { trainer.model }
    public var optimizer: any Optimizer { trainer.optimizer }
    /// The ZeRO-1 shards when the run is one rank of several, nil on its own.
    public var sharding: ShardedOptimizer? { trainer.sharding }
    /// The learning-rate schedule, if any: a ``ReduceLROnPlateau`` steps on each epoch's evaluation loss, any other
    /// after every optimizer step.
    let scheduler: LRScheduler?
    /// Completed epochs.
    public private(set) var epoch = 0
    /// Optimizer steps taken (skipped ones included), over all epochs.
    public private(set) var steps = 0
    public private(set) var history: [EpochResult] = []
    public private(set) var trainSeconds = 0.0
    public private(set) var evalSeconds = 0.0

    public var last: EpochResult? { history.last }
    /// Micro-batches in one epoch.
    public var batchesPerEpoch: Int { task.batchesPerEpoch }
    /// Optimizer steps in one epoch.
    public var stepsPerEpoch: Int { Self.stepsPerEpoch(batches: task.batchesPerEpoch, accumulate: options.accumulate) }

    /// Optimizer steps in an epoch of `batches` micro-batches taken `accumulate` at a time (rounded up, without an
    /// addition that could overflow).
    static func stepsPerEpoch(batches: Int, accumulate: Int) -> Int {
        batches / accumulate + (batches % accumulate == 0 ? 0 : 1)
    }

    /// Builds the run, on its own or, given `communicator`, as its rank of a data-parallel run. Errors name the
    /// option at fault (an optimizer's or a scheduler's).
    public init(options: TrainingOptions, task: Task, communicator: (any Communicator)? = nil) throws {
        self.options = options
        // Clipping sums the norms in the optimizer's group order, as this run always has.
        trainer = try Trainer(task: task, recipe: options.training, communicator: communicator,
                              settings: (try StateJSON.encode(options), "training options"), clipInOptimizerOrder: true)
        try options.checkScheduleFitsOptimizer()
        let (total, overflow) = options.scheduleEpochs.multipliedReportingOverflow(
            by: Self.stepsPerEpoch(batches: task.batchesPerEpoch, accumulate: options.accumulate))
        guard !overflow, total <= 1 << 40 else {
            throw ExperimentError.invalidArgument(
                name: "schedule epochs", value: "\(options.scheduleEpochs)",
                reason: "makes a schedule of more than 2^40 steps")
        }
        let optimizer = trainer.optimizer
        switch options.scheduler {
        case .none:
            scheduler = nil
        case .plateau:
            scheduler = try ReduceLROnPlateau(optimizer, factor: options.plateauFactor,
                                              patience: options.plateauPatience, minLR: options.minLR)
        case .cosine:
            scheduler = try CosineAnnealingLR(optimizer, tMax: total, etaMin: options.minLR)
        case .warmupCosine:
            if let steps = options.warmupSteps, steps >= total {
                throw SchedulerError.invalidArgument(
                    scheduler: "warmup-cosine", name: "warm-up steps, which must be fewer than the schedule's \(total):",
                    value: Double(steps))
            }
            let warmup = min(max(1, options.warmupSteps ?? total / 20), max(1, total - 1))
            let phases = [try LinearLR(optimizer, startFactor: 0.01, totalIters: warmup),
                          try CosineAnnealingLR(optimizer, tMax: max(1, total - warmup), etaMin: options.minLR)]
            scheduler = try SequentialLR(optimizer, schedulers: phases, milestones: [warmup])
        case .onecycle:
            scheduler = try OneCycleLR(optimizer, maxLR: options.optimizer.lr, totalSteps: total, pctStart: options.pctStart)
        }
    }

    /// Trains one epoch and evaluates. `progress` receives (micro-batches done, micro-batches in the epoch, mean
    /// loss so far).
    @discardableResult
    public func runEpoch(progress: ((Int, Int, Double) -> Void)? = nil) throws -> EpochResult {
        try withRandomGenerator(trainer.random) { try trainEpoch(progress: progress) }
    }

    /// Trains `count` epochs, each reported to `progress` as the run `name`; returns the last epoch's result.
    @discardableResult
    public func runEpochs(_ count: Int, reportingAs name: String, to progress: EpochProgress?) throws -> EpochResult {
        guard count >= 1 else {
            throw ExperimentError.invalidArgument(name: "epochs", value: "\(count)", reason: "must be at least 1")
        }
        var result = try runEpoch()
        progress?(name, result)
        for _ in 1..<count {
            result = try runEpoch()
            progress?(name, result)
        }
        return result
    }

    private func trainEpoch(progress: ((Int, Int, Double) -> Void)?) throws -> EpochResult {
        let start = monotonicSeconds()
        epoch += 1
        model.train()
        let (lossSum, samples) = try trainBatches(progress: progress)
        let trained = monotonicSeconds()
        trainSeconds += trained - start
        let (testLoss, accuracy) = try evaluate()
        evalSeconds += monotonicSeconds() - trained
        if let plateau = scheduler as? ReduceLROnPlateau { plateau.step(metric: testLoss) }
        let result = EpochResult(
            epoch: epoch, trainLoss: lossSum / Double(max(samples, 1)), testLoss: testLoss, testAccuracy: accuracy,
            learningRate: optimizer.groupSchedules.first?.lr ?? 0, skippedSteps: optimizer.skippedSteps,
            seconds: monotonicSeconds() - start)
        history.append(result)
        return result
    }

    /// One epoch of optimizer steps over the task's micro-batches; returns the summed loss and the sample count.
    private func trainBatches(progress: ((Int, Int, Double) -> Void)?) throws -> (lossSum: Double, samples: Int) {
        var lossSum = 0.0, samples = 0, batches = 0
        let iterator = task.nextEpoch()
        var group: [Task.Batch] = []
        repeat {
            // One optimizer step: up to `accumulate` micro-batches.
            group.removeAll(keepingCapacity: true)
            while group.count < options.accumulate, let batch = iterator.next() { group.append(batch) }
            guard !group.isEmpty else { break }
            let losses = try trainer.step(on: group)
            for (batch, loss) in zip(group, losses) {
                let count = task.sampleCount(of: batch)
                lossSum += loss * Double(count)
                samples += count
                batches += 1
                progress?(batches, task.batchesPerEpoch, lossSum / Double(samples))
            }
            steps += 1
            if let scheduler, !scheduler.stepsOnMetric { try scheduler.step() }
        } while true
        return (lossSum, samples)
    }

    /// Mean loss and accuracy on the evaluation set: evaluation mode, no gradients.
    public func evaluate() throws -> (loss: Double, accuracy: Double) {
        try trainer.evaluating { try task.evaluate(model) }
    }

    /// The Euclidean norm of all parameters together.
    public var weightNorm: Double { trainer.weightNorm }

    // MARK: - Checkpoints

    /// The run's whole state: options, model, optimizer, schedule, random generator and data order.
    public func stateDict() throws -> StateDict {
        // The optimizer's first: it puts an optimizer with modes at the values the model is saved with.
        let optimizerState = try trainer.optimizerState()
        var state = StateDict()
            .merging(model.stateDict(), prefix: "model.")
            .merging(optimizerState, prefix: "optimizer.")
        state.metadata["options"] = try StateJSON.encode(options)
        state.metadata["epoch"] = String(epoch)
        state.metadata["step"] = String(steps)
        state.metadata["data.epoch"] = String(task.dataEpoch)
        state.metadata["rng"] = trainer.random.state.map { String($0, radix: 16) }.joined(separator: ",")
        if let scheduler { state.metadata["scheduler"] = try StateJSON.encode(scheduler.stateDict()) }
        if let last {
            state.metadata["test_accuracy"] = String(last.testAccuracy)
            state.metadata["test_loss"] = String(last.testLoss)
            state.metadata["train_loss"] = String(last.trainLoss)
        }
        return state
    }

    /// Continues from a checkpoint of a run with the same options: all of it, or nothing.
    /// - Throws: ``Optim/StateMismatch`` naming every part that does not fit; the run is left as it was.
    public func load(_ state: StateDict) throws {
        // The model is loaded before the optimizer and the schedule are checked; if any part is refused, the run
        // goes back to its own state (which always fits), so that a refused checkpoint is never half-loaded.
        let before = try stateDict()
        do {
            try replaceState(with: state)
        } catch {
            try? replaceState(with: before)
            throw error
        }
    }

    private func replaceState(with state: StateDict) throws {
        var problems: [String] = []
        do { try model.load(stateDict: state.scoped("model.")) } catch { problems.append("\(error)") }
        do { try trainer.loadOptimizerState(state.scoped("optimizer.")) } catch { problems.append("\(error)") }
        // Counts read from a file are refused when impossible (negative), not trusted.
        let epoch = state.metadata["epoch"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        let steps = state.metadata["step"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        let dataEpoch = state.metadata["data.epoch"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        let words = state.metadata["rng"]?.split(separator: ",").compactMap { UInt64($0, radix: 16) }
        if epoch == nil { problems.append("the epoch is missing, unreadable or negative") }
        if steps == nil { problems.append("the step count is missing, unreadable or negative") }
        if dataEpoch == nil { problems.append("the data order is missing, unreadable or negative") }
        if words?.count != 4 { problems.append("the random generator's state is missing or unreadable") }
        let scheduleState: [String: Double]? = state.metadata["scheduler"].flatMap { StateJSON.decode(from: $0) }
        if let scheduler, let scheduleState {
            do { try scheduler.load(stateDict: scheduleState) } catch { problems.append("\(error)") }
        } else if scheduler != nil {
            problems.append("the schedule's state is missing or unreadable")
        } else if state.metadata["scheduler"] != nil {
            problems.append("the checkpoint has a schedule, the run none")
        }
        guard problems.isEmpty, let epoch, let steps, let dataEpoch, let words, trainer.random.restore(words) else {
            throw StateMismatch("checkpoint", problems: problems.isEmpty ? ["the random generator's state is invalid"] : problems)
        }
        self.epoch = epoch
        self.steps = steps
        task.dataEpoch = dataEpoch
    }
}
