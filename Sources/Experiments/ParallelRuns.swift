import Foundation
import Kernels

/// Runs independent jobs — whole trainings — several at a time, each on a thread pool of its own.
///
/// Small models train faster as several single-threaded runs side by side than one after another on every core
/// (their products are too small to split well), so an experiment of many runs spreads the runs, not the kernels.
/// Every run draws its random numbers from a stream of its own and the kernels give the same bits on any thread
/// count, so the results do not depend on `jobs`.
public struct ParallelRuns: Sendable {
    /// Runs at once, each on a thread of its own.
    public let jobs: Int
    /// Threads of each run's pool.
    public let threadsPerJob: Int

    /// - Throws: ``KernelError/invalidThreadCount(_:)`` for a count outside 1...256.
    public init(jobs: Int, threadsPerJob: Int) throws(KernelError) {
        guard (1...256).contains(jobs) else { throw .invalidThreadCount(jobs) }
        guard (1...256).contains(threadsPerJob) else { throw .invalidThreadCount(threadsPerJob) }
        self.jobs = jobs
        self.threadsPerJob = threadsPerJob
    }

    /// `jobs` runs at once, sharing the processors this process may use.
    public init(jobs: Int) throws(KernelError) {
        try self.init(jobs: jobs, threadsPerJob: min(256, max(1, ThreadPool.usableProcessorCount() / max(jobs, 1))))
    }

    /// `body(index)` for every index in `0..<count`, `jobs` at a time, in index order of starting; the results in
    /// index order. A job that has started always finishes; once one has thrown, no new job starts, and the error
    /// of the smallest index that threw is rethrown.
    public func map<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let progress = Locked((next: 0, failed: false))
        let results = Locked([Result<T, any Error>?](repeating: nil, count: count))
        let workers = min(jobs, count)
        let pools = try (0..<workers).map { _ in try ThreadPool(threadCount: threadsPerJob) }
        let finished = DispatchGroup()
        for pool in pools {
            finished.enter()
            // A thread per worker (not a dispatch queue, which would run no more at once than there are
            // processors), with a stack large enough for deep models.
            let thread = Thread {
                defer { finished.leave() }
                ThreadPool.$current.withValue(pool) {
                    while let index = progress.withLock({ (state: inout (next: Int, failed: Bool)) -> Int? in
                        guard !state.failed, state.next < count else { return nil }
                        defer { state.next += 1 }
                        return state.next
                    }) {
                        let result = Result { try body(index) }
                        if case .failure = result { progress.withLock { $0.failed = true } }
                        results.withLock { $0[index] = result }
                    }
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        finished.wait()
        return try results.withLock { list in
            var values: [T] = []
            values.reserveCapacity(count)
            for entry in list {
                switch entry {
                case .success(let value): values.append(value)
                case .failure(let error): throw error
                case nil: continue  // never started: a job before it threw, and that error is thrown first
                }
            }
            return values
        }
    }
}
