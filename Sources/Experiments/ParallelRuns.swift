import Dispatch
import Kernels

/// Runs independent jobs — whole trainings — several at a time, each on a thread pool of its own.
///
/// Small models train faster as several single-threaded runs side by side than one after another on every core
/// (their products are too small to split well), so an experiment of many runs spreads the runs, not the kernels.
/// Every run draws its random numbers from a stream of its own and the kernels give the same bits on any thread
/// count, so the results do not depend on `jobs`.
public struct ParallelRuns: Sendable {
    /// Runs at once.
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
        try self.init(jobs: jobs, threadsPerJob: max(1, ThreadPool.usableProcessorCount() / max(jobs, 1)))
    }

    /// `body(index)` for every index in `0..<count`, `jobs` at a time; the results in index order. If any job
    /// throws, the jobs not yet started are not started and the first error (by index) is rethrown.
    public func map<T: Sendable>(_ count: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let results = Locked([Result<T, any Error>?](repeating: nil, count: count))
        let next = Locked(0)
        let failed = Locked(false)
        let workers = min(jobs, max(count, 1))
        let pools = try (0..<workers).map { _ in try ThreadPool(threadCount: threadsPerJob) }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            ThreadPool.$current.withValue(pools[worker]) {
                while true {
                    let index = next.withLock { value -> Int in
                        defer { value += 1 }
                        return value
                    }
                    guard index < count, !failed.withLock({ $0 }) else { return }
                    let result = Result { try body(index) }
                    if case .failure = result { failed.withLock { $0 = true } }
                    results.withLock { $0[index] = result }
                }
            }
        }
        return try results.withLock { list in
            var values: [T] = []
            values.reserveCapacity(count)
            for entry in list {
                switch entry {
                case .success(let value): values.append(value)
                case .failure(let error): throw error
                case nil: continue  // not started: a job before it failed, and that failure is thrown first
                }
            }
            return values
        }
    }
}
