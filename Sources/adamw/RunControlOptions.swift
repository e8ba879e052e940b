import ArgumentParser
import CommandSupport

/// What a run is measured in, for the help of the flags every trainer shares: "epoch" (`adamw train`) or
/// "evaluation" (`adamw gpt`, which saves at every evaluation).
protocol RunUnit {
    /// When a checkpoint is written, as the --save help ends: "after every epoch".
    static var saveMoment: String { get }
    /// What a checkpoint's run continues with and to: "with its options, to --epochs".
    static var resumeUntil: String { get }
    /// What one metrics record is of: "epoch".
    static var record: String { get }
    /// Extra words on what the checkpoint is: "" or ", loadable by name into nanoGPT".
    static var checkpointNote: String { get }
}

/// The flags that control a run without being part of it, shared by every trainer: threads, the checkpoint it
/// writes or continues, its metrics, its progress bar, and how long a rank waits for another under mpirun. None of
/// them is saved with the run, so none is refused with --resume.
struct RunControlOptions<Unit: RunUnit>: ParsableArguments {
    @Option(parsing: .unconditional, help: "Threads (default: every processor).")
    var threads: Int?

    @Option(help: ArgumentHelp("Write a checkpoint (safetensors\(Unit.checkpointNote)) here \(Unit.saveMoment), atomically."))
    var save: String?

    @Option(help: ArgumentHelp("Continue the run saved in this checkpoint, \(Unit.resumeUntil)."))
    var resume: String?

    @Option(help: ArgumentHelp("Write one JSON object per \(Unit.record) to this file (JSON Lines)."))
    var metricsOut: String?

    @Flag(help: "No progress bar.")
    var noProgress = false

    @Option(parsing: .unconditional, help: "Under mpirun: seconds a process waits for another before the job ends (default 60).")
    var peerTimeout: Double?

    /// The shared checks: the thread count and the timeout.
    func validate() throws {
        try ThreadsOption.check(threads)
        try ParallelLaunch.checkTimeout(peerTimeout)
    }
}
