import Foundation
import Training

/// A grid of learning rates × weight decays, one short training per cell, and the reported figure of each cell
/// (MNIST's test error, the GPT's held-out loss): the experiment of Loshchilov & Hutter's Figure 2, which shows where
/// the good region of (lr, λ) lies for Adam with L2 and for AdamW. Written once over ``ExperimentTask``.
public enum Sweep {
    /// One cell's result.
    public struct Cell: Sendable {
        public let optimizer: String
        public let lr: Double
        public let weightDecay: Double
        /// The task's reported figure (``RunRecord/reported``, lower is better): MNIST's test error in percent,
        /// the GPT's held-out loss.
        public let reported: Double
        /// ``RunRecord/evaluationLoss``: MNIST's test loss, the GPT's selection-half loss.
        public let evaluationLoss: Double
        public let trainLoss: Double

        public init(optimizer: String, lr: Double, weightDecay: Double, reported: Double, evaluationLoss: Double,
                    trainLoss: Double) {
            self.optimizer = optimizer
            self.lr = lr
            self.weightDecay = weightDecay
            self.reported = reported
            self.evaluationLoss = evaluationLoss
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

    /// Trains each optimizer's settings with each (lr, λ) of the grid on `task`; the cells of all `optimizers` come
    /// back in the order optimizer, λ, lr.
    public static func run<Task: ExperimentTask>(
        _ task: Task, optimizers: [(name: String, settings: Task.Settings, weightDecays: [Double])],
        learningRates: [Double], runner: ParallelRuns
    ) throws -> [Cell] {
        let jobs = optimizers.flatMap { optimizer in
            optimizer.weightDecays.flatMap { weightDecay in
                learningRates.map { lr in (optimizer.name, optimizer.settings, lr, weightDecay) }
            }
        }
        return try runner.map(jobs.count) { index in
            let (name, base, lr, weightDecay) = jobs[index]
            let settings = try task.settings(base, with: .lr(lr), .weightDecay(weightDecay))
            let record = try task.train(settings, name: "\(name) lr=\(lr) λ=\(weightDecay)", selecting: false,
                                        inspect: nil)
            return Cell(optimizer: name, lr: lr, weightDecay: weightDecay, reported: record.reported,
                        evaluationLoss: record.evaluationLoss, trainLoss: record.trainLoss)
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
            let row = cells.filter { $0.lr == lr }.sorted { ($0.reported, $0.weightDecay) < ($1.reported, $1.weightDecay) }
            return row.first.map { (lr, $0.weightDecay) }
        }
        let xs = best.map { log10($0.lr) }, ys = best.map { log10($0.weightDecay) }
        let meanX = xs.reduce(0, +) / Double(xs.count), meanY = ys.reduce(0, +) / Double(ys.count)
        let covariance = zip(xs, ys).reduce(0) { $0 + ($1.0 - meanX) * ($1.1 - meanY) }
        let variance = xs.reduce(0) { $0 + ($1 - meanX) * ($1 - meanX) }
        return (best, covariance / variance)
    }
}
