import Experiments
import Foundation
import Testing

/// The Gaussian process and the tuner on known functions, where the answer is known.
struct TunerTests {
    @Test func theProcessInterpolatesWhatItSawAndIsUnsureElsewhere() {
        let points = [[0.1, 0.2], [0.8, 0.3], [0.4, 0.9], [0.5, 0.5], [0.2, 0.7]]
        let values = points.map { sin(3 * $0[0]) + $0[1] * $0[1] }
        let process = GaussianProcess(points: points, values: values)
        for (point, value) in zip(points, values) {
            let (mean, deviation) = process.predict(point)
            #expect(abs(mean - value) < 0.05, "\(point): \(mean) against \(value)")
            #expect(deviation < 0.1)
        }
        // Far from every point the surrogate knows less than at one.
        #expect(process.predict([1, 1]).deviation > process.predict(points[3]).deviation)
        // Improvement below the best is expected where the surrogate is unsure, not at the best point seen.
        let best = values.min()!
        #expect(process.expectedImprovement(at: [1, 1], best: best) >= 0)
        #expect(process.expectedImprovement(at: points[values.firstIndex(of: best)!], best: best) < 0.05)
    }

    /// A bowl in log lr × log λ with its minimum at (1e-3, 1e-1), as a loss surface looks.
    static let space = try! Tuner.Space(lr: 1e-5...1e-1, weightDecay: 1e-4...1e2)
    static let bowl: @Sendable (Double, Double) -> Double = { lr, weightDecay in
        let x = log10(lr) + 3, y = log10(weightDecay) + 1
        return 1 + x * x + 0.5 * y * y + 0.3 * x * y
    }

    @Test func bayesianOptimisationFindsTheBowlsMinimumBetterThanRandomSearch() throws {
        let runner = try ParallelRuns(jobs: 2, threadsPerJob: 1)
        var bayesian = 0.0, random = 0.0
        for seed: UInt64 in 0..<5 {
            let a = try Tuner.run(strategy: .bayesian, trials: 16, seed: seed, space: Self.space, runner: runner, objective: Self.bowl)
            let b = try Tuner.run(strategy: .random, trials: 16, seed: seed, space: Self.space, runner: runner, objective: Self.bowl)
            bayesian += a.last!.bestSoFar - 1
            random += b.last!.bestSoFar - 1
            #expect(a.count == 16 && b.count == 16)
        }
        // The same budget: the surrogate's regret is a fraction of random search's.
        #expect(bayesian < 0.5 * random, "mean regret \(bayesian / 5) against \(random / 5)")
        #expect(bayesian / 5 < 0.05)
    }

    @Test func theTrialsDependOnTheSeedAndBatchNotOnTheJobs() throws {
        let one = try ParallelRuns(jobs: 1, threadsPerJob: 1), two = try ParallelRuns(jobs: 2, threadsPerJob: 1)
        let a = try Tuner.run(strategy: .bayesian, trials: 8, seed: 7, space: Self.space, runner: one, objective: Self.bowl)
        let b = try Tuner.run(strategy: .bayesian, trials: 8, seed: 7, space: Self.space, runner: two, objective: Self.bowl)
        #expect(a.map(\.lr) == b.map(\.lr) && a.map(\.weightDecay) == b.map(\.weightDecay))
        let c = try Tuner.run(strategy: .bayesian, trials: 8, seed: 8, space: Self.space, runner: two, objective: Self.bowl)
        #expect(a.map(\.lr) != c.map(\.lr))
        // Every trial lies in the space.
        for trial in a + c {
            #expect(Self.space.lr.contains(trial.lr) && Self.space.weightDecay.contains(trial.weightDecay))
        }
    }

    @Test func aDivergedTrialCountsAsTheWorstAndIsSteeredAwayFrom() throws {
        let runner = try ParallelRuns(jobs: 1, threadsPerJob: 1)
        // Learning rates above 1e-2 "diverge".
        let trials = try Tuner.run(strategy: .bayesian, trials: 12, seed: 3, space: Self.space, runner: runner) { lr, weightDecay in
            lr > 1e-2 ? .nan : Self.bowl(lr, weightDecay)
        }
        #expect(trials.last!.bestSoFar.isFinite && trials.last!.bestSoFar < 1.3, "\(trials.map(\.value))")
        // A quarter of the space diverges; after the first half, most proposals stay out of it.
        #expect(trials.suffix(6).filter { $0.lr > 1e-2 }.count <= 2, "\(trials.map(\.lr))")
    }
}
