import ArgumentParser
import CommandSupport
import DataParallel
import Foundation
import Training

/// `adamw train` and `adamw gpt` started by `mpirun -np N`: each process joins the job, trains its micro-batches
/// (see `Experiments.GPTRun` and `TrainingRun`) and only rank 0 prints and writes files. A failure on any rank
/// ends the whole job at once (MPI_Abort) with that rank's message, instead of leaving the others waiting; a
/// rank that stops answering ends it after `--peer-timeout` seconds.
enum ParallelLaunch {
    /// Seconds a rank waits for another before the job ends (`--peer-timeout`).
    static let defaultTimeout = 60.0
    static let timeoutRange = 1.0...86_400.0

    /// Micro-batches a step when --accumulate is not given: one a process.
    static var defaultAccumulate: Int { ProcessLaunch.launchedRanks ?? 1 }

    static func checkTimeout(_ seconds: Double?) throws {
        if let seconds, !timeoutRange.contains(seconds) {
            throw ValidationError("--peer-timeout must be between 1 and 86400 seconds, got \(seconds)")
        }
    }

    /// Runs `body` with the kernels on `threads` threads (``ThreadsOption/run(_:_:)``), on its own (nil) or as this
    /// process's rank of the job mpirun started.
    static func run(threads: Int?, timeout: Double?, _ body: ((any Communicator)?) throws -> Void) throws {
        try ThreadsOption.run(threads) { try run(timeout: timeout, body) }
    }

    /// Runs `body` on its own (nil) or as this process's rank of the job mpirun started.
    private static func run(timeout: Double?, _ body: ((any Communicator)?) throws -> Void) throws {
        let communicator: (any Communicator)?
        do {
            communicator = try ProcessLaunch.communicator(timeout: timeout ?? defaultTimeout)
        } catch {
            throw Refusal("\(error)")
        }
        guard let communicator else { return try body(nil) }
        guard communicator.size > 1 else {
            defer { communicator.finish() }
            return try body(communicator)
        }
        if communicator.rank != 0 { silenceStandardOutput() }
        do {
            try body(communicator)
        } catch {
            let text = "\(error)"
            let line = text.hasPrefix("rank") ? text : "rank \(communicator.rank): \(text)"
            FileHandle.standardError.write(Data(("error: " + line + "\n").utf8))
            // When every rank fails alike (a run that diverged, a refused checkpoint), the first abort kills the
            // others: rank 0, which prints the run's output, goes first, and the others give it a second to.
            if communicator.rank != 0 { sleep(1) }
            communicator.abort(code: 1)
        }
        communicator.finish()
    }

    /// The other ranks' output would repeat rank 0's: it goes to /dev/null (their errors still reach stderr).
    private static func silenceStandardOutput() {
        fflush(nil)  // every stream: nothing written so far is lost
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 {
            dup2(null, STDOUT_FILENO)
            close(null)
        }
    }
}
