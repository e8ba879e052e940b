import ArgumentParser
import DataParallel
import Foundation
import Kernels

/// The `--threads` flag every command that computes takes: checked the same way everywhere, and the pool its
/// value makes.
public enum ThreadsOption {
    /// Throws unless `threads` (if given) is within what a ``Kernels/ThreadPool`` takes.
    public static func check(_ threads: Int?) throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, got \(threads)")
        }
    }

    /// Runs `body` with the kernels on `threads` threads (nil: the current pool, every processor by default; under
    /// mpirun, the processors divided among the job's processes on this machine).
    public static func run<R>(_ threads: Int?, _ body: () throws -> R) throws -> R {
        let shared = ProcessLaunch.launchedRanks.map { _ in
            max(1, ProcessInfo.processInfo.activeProcessorCount / ProcessLaunch.localRanks)
        }
        let pool = try (threads ?? shared).map { try ThreadPool(threadCount: $0) } ?? ThreadPool.current
        return try ThreadPool.$current.withValue(pool) { try body() }
    }
}
