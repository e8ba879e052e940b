import ArgumentParser
import Benchmarks
import Datasets
import Foundation
import NN

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier on MNIST (default: the seeds' example, Linear(784, 10) with AdamW).",
        discussion: """
            Prints `Epoch k, Loss: …` (the mean training loss of the epoch) after each epoch, `Test Accuracy: …` \
            at the end, and a `summary` line with the timings. Runs offline on the copy of MNIST in Data/mnist.
            """
    )

    enum ModelKind: String, ExpressibleByArgument, CaseIterable { case linear, mlp }
    enum OptimizerKind: String, ExpressibleByArgument, CaseIterable { case adamw, adam, sgd }

    @Option(help: "The model: linear (Linear(784, 10)) or mlp (hidden layers with ReLU).")
    var model: ModelKind = .linear

    @Option(help: "Hidden layer sizes of the mlp, comma-separated.")
    var hidden: String?

    @Option(help: "The optimizer.")
    var optimizer: OptimizerKind = .adamw

    @Option(parsing: .unconditional, help: "Learning rate.")
    var lr: Double = 1e-3

    @Option(parsing: .unconditional, help: "Weight decay λ (default: 0.01 for adamw, 0 for adam and sgd).")
    var weightDecay: Double?

    @Option(parsing: .unconditional, help: "Adam's β1,β2.")
    var betas: String = "0.9,0.999"

    @Option(parsing: .unconditional, help: "Adam's ε.")
    var eps: Double = 1e-8

    @Flag(help: "Adam/AdamW: keep the maximum of the second moment (AMSGrad).")
    var amsgrad = false

    @Option(parsing: .unconditional, help: "SGD momentum.")
    var momentum: Double = 0

    @Flag(help: "No weight decay on biases and normalization weights (parameters with fewer than 2 dimensions).")
    var noDecayBiasNorm = false

    @Option(help: "Passes over the training set.")
    var epochs: Int = 5

    @Option(help: "Samples per training batch.")
    var batchSize: Int = 64

    @Option(help: "Seed of initialization and shuffling.")
    var seed: UInt64 = 0

    @Option(help: "Threads (default: every processor).")
    var threads: Int?

    @Option(help: "Directory of the MNIST files (default: the repository's Data/mnist).")
    var dataDir: String?

    @Option(help: "Write one JSON object per epoch to this file (JSON Lines).")
    var metricsOut: String?

    @Flag(help: "No progress bar.")
    var noProgress = false

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, got \(threads)")
        }
        if hidden != nil && model == .linear { throw ValidationError("--hidden applies only to --model mlp") }
        _ = try hiddenSizes()
        _ = try parsedBetas()
    }

    func hiddenSizes() throws -> [Int] {
        guard model == .mlp else { return [] }
        let text = hidden ?? "128"
        let sizes = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--hidden must be positive integers separated by commas, got '\(text)'")
        }
        return sizes.compactMap { $0 }
    }

    func parsedBetas() throws -> (Double, Double) {
        let parts = betas.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let beta1 = parts[0], let beta2 = parts[1] else {
            throw ValidationError("--betas must be two numbers separated by a comma, got '\(betas)'")
        }
        return (beta1, beta2)
    }

    func run() throws {
        let pool = try threads.map { try ThreadPool(threadCount: $0) } ?? ThreadPool.current
        try ThreadPool.$current.withValue(pool) { try train() }
    }

    private func train() throws {
        manualSeed(seed)
        let loadStart = monotonicSeconds()
        let data: (train: MNIST, test: MNIST)
        do {
            data = try MNIST.load(directory: dataDir)
        } catch {
            throw ValidationError("\(error)")
        }
        let loadSeconds = monotonicSeconds() - loadStart

        let network = ClassifierModel.make(hidden: try hiddenSizes(), inputs: MNIST.pixels, classes: MNIST.classes)
        let parameters = network.parameters()
        let groups = noDecayBiasNorm
            ? WeightDecayRule.biasesAndNorms.groups(parameters)
            : [ParamGroup(params: parameters)]
        let optimizer: Optimizer
        switch self.optimizer {
        case .adamw:
            optimizer = try AdamW(groups, lr: lr, betas: try parsedBetas(), eps: eps,
                                  weightDecay: weightDecay ?? 0.01, amsgrad: amsgrad)
        case .adam:
            optimizer = try Adam(groups, lr: lr, betas: try parsedBetas(), eps: eps,
                                 weightDecay: weightDecay ?? 0, amsgrad: amsgrad)
        case .sgd:
            optimizer = try SGD(groups, lr: lr, momentum: momentum, weightDecay: weightDecay ?? 0)
        }

        let run = try ClassifierTraining(
            model: network, optimizer: optimizer, train: data.train, test: data.test,
            batchSize: batchSize, seed: seed, showProgress: !noProgress)
        let metrics = try metricsOut.map { try MetricsLog(path: $0) }
        var last: ClassifierTraining.EpochResult?
        for epoch in 1...epochs {
            let result = try run.runEpoch(epoch, of: epochs)
            print("Epoch \(epoch), Loss: \(format(result.trainLoss, 4))")
            try metrics?.append(result, lr: optimizer.paramGroups[0].lr)
            last = result
        }
        guard let last else { return }
        print("Test Accuracy: \(format(last.testAccuracy * 100, 2))%")
        print("summary job=train model=\(model.rawValue) epochs=\(epochs) accuracy=\(format(last.testAccuracy * 100, 2)) "
              + "load_s=\(format(loadSeconds, 2)) train_s=\(format(run.trainSeconds, 2)) "
              + "eval_s=\(format(run.evalSeconds, 2))")
    }
}
