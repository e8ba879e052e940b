import Datasets
import Experiments
import Foundation
import NN
import Testing
import Training

struct ParallelRunsTests {
    struct Failure: Error, Equatable { let index: Int }

    @Test func resultsComeBackInIndexOrder() throws {
        let runner = try ParallelRuns(jobs: 3, threadsPerJob: 1)
        let squares = try runner.map(50) { index -> Int in
            usleep(UInt32((50 - index) * 100))  // later jobs finish first
            return index * index
        }
        #expect(squares == (0..<50).map { $0 * $0 })
        #expect(try runner.map(0) { $0 }.isEmpty)
    }

    @Test func theFirstFailureByIndexIsThrown() throws {
        let runner = try ParallelRuns(jobs: 2, threadsPerJob: 1)
        #expect(throws: Failure(index: 3)) {
            _ = try runner.map(20) { index -> Int in
                if index == 3 || index == 4 { throw Failure(index: index) }
                return index
            }
        }
    }

    /// --jobs 4 on two processors still runs four at once (threads, not a queue capped at the processor count).
    @Test func asManyJobsRunAtOnceAsAskedFor() throws {
        let running = Locked((now: 0, most: 0))
        _ = try ParallelRuns(jobs: 4, threadsPerJob: 1).map(8) { index -> Int in
            running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            usleep(50_000)
            running.withLock { $0.now -= 1 }
            return index
        }
        #expect(running.withLock { $0.most } == 4)
    }

    @Test func invalidCountsAreRefused() {
        #expect(throws: KernelError.invalidThreadCount(0)) { try ParallelRuns(jobs: 0, threadsPerJob: 1) }
        #expect(throws: KernelError.invalidThreadCount(300)) { try ParallelRuns(jobs: 1, threadsPerJob: 300) }
    }

    /// Whole trainings side by side give bitwise what they give one at a time on two threads: each run has its own
    /// random stream, and the kernels do not depend on the thread count.
    @Test func trainingsAreTheSameWhateverTheParallelism() throws {
        let (train, test) = try MNIST.load()
        var options = TrainingOptions()
        options.model = .mlp
        options.hidden = [32]
        options.trainSamples = 3000
        options.batchSize = 100
        let seeds: [UInt64] = [0, 1, 2]
        let base = options
        func losses(_ runner: ParallelRuns) throws -> [[UInt64]] {
            try runner.map(seeds.count) { index in
                var variant = base
                variant.seed = seeds[index]
                let run = try TrainingRun(options: variant, train: train, test: test)
                try run.runEpoch()
                try run.runEpoch()
                return run.history.map { $0.trainLoss.bitPattern } + run.model.parameters().map { parameter in
                    parameter.values.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1.bitPattern) }
                }
            }
        }
        let sideBySide = try losses(try ParallelRuns(jobs: 3, threadsPerJob: 1))
        let oneAtATime = try losses(try ParallelRuns(jobs: 1, threadsPerJob: 2))
        #expect(sideBySide == oneAtATime)
        #expect(sideBySide[0] != sideBySide[1], "and different seeds differ")
    }
}
