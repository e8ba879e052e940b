import Benchmarks
import Checkpoints
import Datasets
import Foundation
import NN

/// One training run of `adamw train`: the model, optimizer, schedule and data order its options define, the
/// seeds' loop over epochs, and its whole state as a checkpoint.
///
/// The loop is the example's — `optimizer.zeroGrad(); let loss = try crossEntropy(model(data), target);
/// try loss.backward(); try optimizer.step()` — with gradient accumulation over `accumulate` micro-batches (each
/// loss weighted by its share of the samples, so the step equals one on the whole batch), optional clipping, and a
/// learning-rate schedule stepped after each optimizer step (or, for plateau, after each epoch's evaluation).
final class TrainingRun {
    struct EpochResult {
        let epoch: Int
        /// The mean training loss over the epoch's samples.
        let trainLoss: Double
        let testLoss: Double
        let testAccuracy: Double
        let learningRate: Double
        let skippedSteps: Int
        let seconds: Double
    }

    enum Schedule {
        case none
        case perStep(LRScheduler)
        case plateau(ReduceLROnPlateau)
    }

    let options: TrainingOptions
    let model: Sequential
    let optimizer: Optimizer
    let schedule: Schedule
    let loader: DataLoader<MNIST>
    let test: MNIST
    /// Completed epochs.
    private(set) var epoch = 0
    private(set) var last: EpochResult?
    private(set) var trainSeconds = 0.0
    private(set) var evalSeconds = 0.0

    var stepsPerEpoch: Int { (loader.batchCount + options.accumulate - 1) / options.accumulate }

    init(options: TrainingOptions, train: MNIST, test: MNIST) throws {
        self.options = options
        manualSeed(options.seed)
        let widths = [MNIST.pixels] + options.hidden
        model = Sequential {
            Flatten()
            for (from, to) in zip(widths, widths.dropFirst()) {
                [Linear(from, to), ReLU()] as [any Module]
            }
            Linear(widths.last ?? MNIST.pixels, MNIST.classes)
        }
        let parameters = model.parameters()
        let groups = options.noDecayBiasNorm
            ? WeightDecayRule.biasesAndNorms.groups(parameters)
            : [ParamGroup(params: parameters)]
        switch options.optimizer {
        case .adamw:
            optimizer = try AdamW(groups, lr: options.lr, betas: (options.beta1, options.beta2), eps: options.eps,
                                  weightDecay: options.weightDecay ?? 0.01, amsgrad: options.amsgrad)
        case .adam:
            optimizer = try Adam(groups, lr: options.lr, betas: (options.beta1, options.beta2), eps: options.eps,
                                 weightDecay: options.weightDecay ?? 0, amsgrad: options.amsgrad)
        case .sgd:
            optimizer = try SGD(groups, lr: options.lr, momentum: options.momentum, weightDecay: options.weightDecay ?? 0)
        }
        optimizer.nonFiniteGradients = switch options.nonFinite {
        case .skip: .skip
        case .propagate: .propagate
        case .throw: .throw
        }
        loader = try DataLoader(train, batchSize: options.batchSize, shuffle: true, seed: options.seed)
        self.test = test
        let total = options.scheduleEpochs * ((loader.batchCount + options.accumulate - 1) / options.accumulate)
        switch options.scheduler {
        case .none:
            schedule = .none
        case .plateau:
            schedule = .plateau(try ReduceLROnPlateau(optimizer, factor: options.plateauFactor,
                                                      patience: options.plateauPatience, minLR: options.minLR))
        case .cosine:
            schedule = .perStep(try CosineAnnealingLR(optimizer, tMax: total, etaMin: options.minLR))
        case .warmupCosine:
            let warmup = min(max(1, options.warmupSteps ?? total / 20), total - 1)
            let phases = [try LinearLR(optimizer, startFactor: 0.01, totalIters: warmup),
                          try CosineAnnealingLR(optimizer, tMax: max(1, total - warmup), etaMin: options.minLR)]
            schedule = .perStep(try SequentialLR(optimizer, schedulers: phases, milestones: [warmup]))
        case .onecycle:
            schedule = .perStep(try OneCycleLR(optimizer, maxLR: options.lr, totalSteps: total,
                                               pctStart: options.pctStart))
        }
    }

    func runEpoch(of epochs: Int, showProgress: Bool) throws -> EpochResult {
        let start = monotonicSeconds()
        epoch += 1
        model.train()
        var progress = ProgressBar(total: loader.batchCount, label: "Epoch \(epoch)/\(epochs)", enabled: showProgress)
        var lossSum = 0.0, samples = 0, batches = 0
        var iterator = loader.makeIterator()
        var group: [(data: Tensor, target: [Int])] = []
        repeat {
            // One optimizer step: up to `accumulate` micro-batches, each loss weighted by its share of samples.
            group.removeAll(keepingCapacity: true)
            while group.count < options.accumulate, let batch = iterator.next() { group.append(batch) }
            guard !group.isEmpty else { break }
            let groupSamples = group.reduce(0) { $0 + $1.target.count }
            optimizer.zeroGrad()
            for (data, target) in group {
                let loss = try crossEntropy(model(data), target)
                let share = Float(target.count) / Float(groupSamples)
                try (group.count == 1 ? loss : loss * share).backward()
                lossSum += Double(try loss.item()) * Double(target.count)
                samples += target.count
                batches += 1
                progress.update(done: batches, loss: lossSum / Double(samples))
            }
            if let clipNorm = options.clipNorm { try clipGradNorm(optimizer.parameters, maxNorm: clipNorm) }
            try optimizer.step()
            if case .perStep(let scheduler) = schedule { try scheduler.step() }
        } while true
        progress.finish()
        let trained = monotonicSeconds()
        trainSeconds += trained - start
        let (testLoss, accuracy) = try evaluate()
        evalSeconds += monotonicSeconds() - trained
        if case .plateau(let plateau) = schedule { plateau.step(metric: testLoss) }
        let result = EpochResult(
            epoch: epoch, trainLoss: lossSum / Double(max(samples, 1)), testLoss: testLoss, testAccuracy: accuracy,
            learningRate: optimizer.paramGroups[0].lr, skippedSteps: optimizer.skippedSteps,
            seconds: monotonicSeconds() - start)
        last = result
        return result
    }

    /// Mean test loss and accuracy: evaluation mode, no gradients, argmax of the logits.
    func evaluate(batchSize: Int = 1000) throws -> (loss: Double, accuracy: Double) {
        model.eval()
        defer { model.train() }
        return try withNoGrad {
            var lossSum = 0.0, correct = 0
            var start = 0
            while start < test.count {
                let end = min(start + batchSize, test.count)
                let (data, target) = test.batch(Array(start..<end))
                let logits = try model(data)
                lossSum += Double(try crossEntropy(logits, target).item()) * Double(end - start)
                correct += zip(try logits.argmax(axis: 1), target).filter { $0 == $1 }.count
                start = end
            }
            return (lossSum / Double(test.count), Double(correct) / Double(test.count))
        }
    }

    // MARK: - Checkpoints

    /// The run's whole state: options, model, optimizer, schedule, random generator and data order.
    func stateDict() throws -> StateDict {
        var state = StateDict()
            .merging(model.stateDict(), prefix: "model.")
            .merging(optimizer.stateDict(), prefix: "optimizer.")
        state.metadata["options"] = try Self.json(options)
        state.metadata["epoch"] = String(epoch)
        state.metadata["data.epoch"] = String(loader.epoch)
        state.metadata["rng"] = GlobalRandom.state.map { String($0, radix: 16) }.joined(separator: ",")
        switch schedule {
        case .none: break
        case .perStep(let scheduler): state.metadata["scheduler"] = try Self.json(scheduler.stateDict())
        case .plateau(let plateau): state.metadata["scheduler"] = try Self.json(plateau.stateDict())
        }
        if let last {
            state.metadata["test_accuracy"] = String(last.testAccuracy)
            state.metadata["test_loss"] = String(last.testLoss)
            state.metadata["train_loss"] = String(last.trainLoss)
        }
        return state
    }

    /// Continues from a checkpoint of a run with the same options.
    /// - Throws: ``CheckpointMismatch`` naming every part that does not fit.
    func load(_ state: StateDict) throws {
        var problems: [String] = []
        do { try model.load(stateDict: state.scoped("model.")) } catch { problems.append("\(error)") }
        do { try optimizer.load(stateDict: state.scoped("optimizer.")) } catch { problems.append("\(error)") }
        let epoch = state.metadata["epoch"].flatMap { Int($0) }
        let dataEpoch = state.metadata["data.epoch"].flatMap { Int($0) }
        let rng = state.metadata["rng"]?.split(separator: ",").compactMap { UInt64($0, radix: 16) }
        if epoch == nil { problems.append("the epoch is missing or unreadable") }
        if dataEpoch == nil { problems.append("the data order is missing or unreadable") }
        if rng?.count != 4 { problems.append("the random generator's state is missing or unreadable") }
        let scheduleState: [String: Double]? = state.metadata["scheduler"].flatMap { Self.decode($0) }
        switch schedule {
        case .none:
            if state.metadata["scheduler"] != nil { problems.append("the checkpoint has a schedule, the run none") }
        case .perStep(let scheduler):
            if let scheduleState {
                do { try scheduler.load(stateDict: scheduleState) } catch { problems.append("\(error)") }
            } else {
                problems.append("the schedule's state is missing or unreadable")
            }
        case .plateau(let plateau):
            if let scheduleState {
                do { try plateau.load(stateDict: scheduleState) } catch { problems.append("\(error)") }
            } else {
                problems.append("the schedule's state is missing or unreadable")
            }
        }
        guard problems.isEmpty, let epoch, let dataEpoch, let rng, GlobalRandom.restore(rng) else {
            throw CheckpointMismatch(problems: problems.isEmpty ? ["the random generator's state is invalid"] : problems)
        }
        self.epoch = epoch
        loader.epoch = dataEpoch
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

/// A checkpoint that does not fit the run it should continue.
struct CheckpointMismatch: Error, CustomStringConvertible {
    let problems: [String]
    var description: String { "the checkpoint does not fit: " + problems.joined(separator: "; ") }
}
