import Datasets
import Foundation
import NN
import Training

/// A grid of learning rates × weight decays, one short training per cell, and the test error of each cell: the
/// experiment of Loshchilov & Hutter's Figure 2, which shows where the good region of (lr, λ) lies for Adam with
/// L2 and for AdamW.
public enum Sweep {
    /// One cell's result.
    public struct Cell: Sendable {
        public let optimizer: String
        public let lr: Double
        public let weightDecay: Double
        /// Test error in percent after the last epoch.
        public let testError: Double
        public let testLoss: Double
        public let trainLoss: Double

        public init(optimizer: String, lr: Double, weightDecay: Double, testError: Double, testLoss: Double,
                    trainLoss: Double) {
            self.optimizer = optimizer
            self.lr = lr
            self.weightDecay = weightDecay
            self.testError = testError
            self.testLoss = testLoss
            self.trainLoss = trainLoss
        }
    }

    /// `count` values spaced evenly on a log scale from `low` to `high` (both included).
    /// - Throws: ``ExperimentError/invalidArgument(name:value:reason:)`` unless 0 < low ≤ high, both finite, and
    ///   count ≥ 1 (with count 1, only `low`; with low = high, count must be 1).
    public static func logSpaced(_ low: Double, _ high: Double, count: Int, name: String) throws -> [Double] {
        guard low.isFinite, high.isFinite, low > 0, high >= low else {
            throw ExperimentError.invalidArgument(name: name, value: "\(low)…\(high)",
                                                  reason: "needs 0 < low ≤ high, both finite")
        }
        guard count >= 1, count == 1 || high > low else {
            throw ExperimentError.invalidArgument(name: name, value: "\(count) values",
                                                  reason: "a range of one value has one point")
        }
        guard count > 1 else { return [low] }
        let (a, b) = (log10(low), log10(high))
        return (0..<count).map { i in
            // The ends exactly as given, so that a grid edge reads back as the number the user typed.
            i == 0 ? low : i == count - 1 ? high : pow(10, a + (b - a) * Double(i) / Double(count - 1))
        }
    }

    /// Trains `base` with each (lr, λ) of the grid; the cells of all `optimizers` come back in the order
    /// optimizer, λ, lr. `progress` is called after each epoch of any cell.
    public static func run(
        optimizers: [(name: String, options: TrainingOptions, weightDecays: [Double])], learningRates: [Double],
        epochs: Int, train: MNIST, test: MNIST, runner: ParallelRuns,
        progress: EpochProgress? = nil
    ) throws -> [Cell] {
        guard epochs >= 1 else {
            throw ExperimentError.invalidArgument(name: "epochs", value: "\(epochs)", reason: "must be at least 1")
        }
        let jobs = optimizers.flatMap { optimizer in
            optimizer.weightDecays.flatMap { weightDecay in
                learningRates.map { lr in (optimizer.name, optimizer.options, lr, weightDecay) }
            }
        }
        return try runner.map(jobs.count) { index in
            let (name, base, lr, weightDecay) = jobs[index]
            var options = base
            options.lr = lr
            options.weightDecay = weightDecay
            let last = try TrainingRun(options: options, train: train, test: test)
                .runEpochs(epochs, reportingAs: "\(name) lr=\(lr) λ=\(weightDecay)", to: progress)
            return Cell(optimizer: name, lr: lr, weightDecay: weightDecay, testError: 100 * (1 - last.testAccuracy),
                        testLoss: last.testLoss, trainLoss: last.trainLoss)
        }
    }

    /// How the best λ moves with the learning rate: for each learning rate the λ of lowest test error, and the
    /// least-squares slope of log10 λ* against log10 lr. About −1 is a diagonal good region (the best λ falls as lr
    /// rises: decay and lr entangled); about 0 is axis-aligned (the best λ does not depend on lr). nil with fewer
    /// than two learning rates or one λ.
    public static func bestWeightDecaySlope(_ cells: [Cell]) -> (best: [(lr: Double, weightDecay: Double)], slope: Double)? {
        let rates = Array(Set(cells.map(\.lr))).sorted()
        guard rates.count >= 2, Set(cells.map(\.weightDecay)).count >= 2,
              cells.allSatisfy({ $0.lr > 0 && $0.weightDecay > 0 }) else { return nil }
        let best = rates.compactMap { lr -> (lr: Double, weightDecay: Double)? in
            // Ties (same error) go to the smaller λ, so that a flat row does not pull the fit.
            let row = cells.filter { $0.lr == lr }.sorted { ($0.testError, $0.weightDecay) < ($1.testError, $1.weightDecay) }
            return row.first.map { (lr, $0.weightDecay) }
        }
        let xs = best.map { log10($0.lr) }, ys = best.map { log10($0.weightDecay) }
        let meanX = xs.reduce(0, +) / Double(xs.count), meanY = ys.reduce(0, +) / Double(ys.count)
        let covariance = zip(xs, ys).reduce(0) { $0 + ($1.0 - meanX) * ($1.1 - meanY) }
        let variance = xs.reduce(0) { $0 + ($1 - meanX) * ($1 - meanX) }
        return (best, covariance / variance)
    }
}
