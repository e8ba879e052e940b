import Autograd
import Foundation
import Training

/// Tuning a learning rate and a weight decay together, as the seeds advise for λ: Bayesian optimisation (a
/// ``GaussianProcess`` over log lr × log λ, expected improvement) against random search with the same budget.
///
/// Both are deterministic given the seed and `batch` (the points proposed at a time: within a batch each
/// proposal enters the fit at its predicted value before the next is chosen, the "kriging believer" rule, and a
/// design point still training counts at the best value so far). `runner` only decides how many trials of a batch train at once, never which, so `--jobs` changes no
/// result.
public enum Tuner {
    public enum Strategy: String, Sendable, CaseIterable {
        case bayesian, random
    }

    /// The search space: log-uniform in each of lr and λ.
    public struct Space: Sendable {
        public let lr: ClosedRange<Double>
        public let weightDecay: ClosedRange<Double>

        /// - Throws: ``ExperimentError/invalidArgument(name:value:reason:)`` unless 0 < low < high, finite.
        public init(lr: ClosedRange<Double>, weightDecay: ClosedRange<Double>) throws {
            for (name, range) in [("--lr-range", lr), ("--wd-range", weightDecay)]
            where !(range.lowerBound > 0 && range.upperBound.isFinite && range.upperBound > range.lowerBound) {
                throw ExperimentError.invalidArgument(name: name, value: "\(range.lowerBound)…\(range.upperBound)",
                                                      reason: "needs 0 < low < high, both finite")
            }
            self.lr = lr
            self.weightDecay = weightDecay
        }

        /// The (lr, λ) of a point of the unit square.
        public func values(at unit: [Double]) -> (lr: Double, weightDecay: Double) {
            func scaled(_ u: Double, _ range: ClosedRange<Double>) -> Double {
                exp(log(range.lowerBound) + u * (log(range.upperBound) - log(range.lowerBound)))
            }
            return (scaled(unit[0], lr), scaled(unit[1], weightDecay))
        }
    }

    /// One trial: where it was and what it scored (lower is better), with the best so far.
    public struct Trial: Sendable {
        public let strategy: Strategy
        public let index: Int
        public let lr: Double
        public let weightDecay: Double
        public let value: Double
        public let bestSoFar: Double
    }

    /// Runs `trials` trials of `strategy`, `batch` at a time; `objective(lr, λ)` trains and returns the loss to
    /// minimize (a non-finite value counts as the worst seen).
    public static func run(
        strategy: Strategy, trials: Int, batch: Int = 2, seed: UInt64, space: Space, runner: ParallelRuns,
        objective: @escaping @Sendable (Double, Double) throws -> Double
    ) throws -> [Trial] {
        guard trials >= 1 else {
            throw ExperimentError.invalidArgument(name: "--trials", value: "\(trials)", reason: "must be at least 1")
        }
        guard batch >= 1 else {
            throw ExperimentError.invalidArgument(name: "--batch", value: "\(batch)", reason: "must be at least 1")
        }
        // Each strategy draws from a generator of its own, so the two never share a point by accident.
        var random = RandomGenerator(seed: seed &+ (strategy == .bayesian ? 0 : 0x9E37_79B9_7F4A_7C15))
        let initial = strategy == .random ? trials : min(trials, max(3, trials / 4))
        let design = latinHypercube(initial, using: &random)
        var units: [[Double]] = [], values: [Double] = []
        while units.count < trials {
            let count = min(batch, trials - units.count)
            // The rest of the initial design first, then expected improvement for what the batch has left.
            let fromDesign = Array(design[min(units.count, initial)..<min(units.count + count, initial)])
            var proposed = fromDesign
            if fromDesign.count < count {
                let known = cleaned(values)
                proposed += propose(count - fromDesign.count, after: units + fromDesign,
                                    values: known + fromDesign.map { _ in known.min() ?? 0 }, using: &random)
            }
            let proposals = proposed
            let scores = try runner.map(count) { index in
                let (lr, weightDecay) = space.values(at: proposals[index])
                return try objective(lr, weightDecay)
            }
            units += proposals
            values += scores
        }
        var best = Double.infinity
        return zip(units, values).enumerated().map { index, trial in
            if trial.1.isFinite { best = min(best, trial.1) }
            let (lr, weightDecay) = space.values(at: trial.0)
            return Trial(strategy: strategy, index: index + 1, lr: lr, weightDecay: weightDecay, value: trial.1,
                         bestSoFar: best)
        }
    }

    /// `count` points of the unit square, one in each of `count` rows and columns (a Latin hypercube), shuffled.
    static func latinHypercube(_ count: Int, using random: inout RandomGenerator) -> [[Double]] {
        guard count > 0 else { return [] }
        var columns = (0..<2).map { _ in Array(0..<count) }
        for dimension in 0..<2 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                columns[dimension].swapAt(i, Int(random.next() % UInt64(i + 1)))
            }
        }
        return (0..<count).map { i in
            (0..<2).map { dimension in (Double(columns[dimension][i]) + unit(&random)) / Double(count) }
        }
    }

    /// A uniform number in [0, 1).
    static func unit(_ random: inout RandomGenerator) -> Double { Double(random.next() >> 11) / Double(1 << 53) }

    /// Non-finite scores (a diverged run) become the worst finite one plus the spread, so the surrogate learns to
    /// avoid the region without an infinite value in its fit.
    static func cleaned(_ values: [Double]) -> [Double] {
        let finite = values.filter(\.isFinite)
        guard let worst = finite.max(), let least = finite.min() else { return values.map { _ in 0 } }
        return values.map { $0.isFinite ? $0 : worst + max(worst - least, 1) }
    }

    /// The next `count` points by expected improvement, each added to the fit at its predicted mean before the
    /// next is chosen. Candidates: 2,000 uniform points and 300 near the three best so far.
    static func propose(_ count: Int, after points: [[Double]], values: [Double],
                        using random: inout RandomGenerator) -> [[Double]] {
        var points = points, values = values, chosen: [[Double]] = []
        for _ in 0..<count {
            let process = GaussianProcess(points: points, values: values)
            let best = values.min() ?? 0
            let leaders = zip(points, values).sorted { $0.1 < $1.1 }.prefix(3).map(\.0)
            var candidates = (0..<2000).map { _ in [unit(&random), unit(&random)] }
            for leader in leaders {
                for _ in 0..<100 {
                    candidates.append(leader.map { min(max($0 + (unit(&random) - 0.5) * 0.1, 0), 1) })
                }
            }
            var pick = candidates[0], score = -Double.infinity
            for candidate in candidates {
                let improvement = process.expectedImprovement(at: candidate, best: best, xi: 0.01 * process.scale)
                if improvement > score { (pick, score) = (candidate, improvement) }
            }
            if score <= 0 {
                // Nothing promises an improvement: explore where the surrogate knows least.
                pick = candidates.max { process.predict($0).deviation < process.predict($1).deviation } ?? pick
            }
            chosen.append(pick)
            points.append(pick)
            values.append(process.predict(pick).mean)
        }
        return chosen
    }
}
