import Benchmarks
import Experiments
import Kernels

/// Progress of an experiment made of many training runs, reported from the threads that train them: a bar over
/// every epoch of every run on a terminal, or one line per finished run on standard error otherwise.
/// `--no-progress` silences both.
final class RunsProgress: Sendable {
    private let label: String
    private let runs: Int
    private let epochsPerRun: Int
    private let enabled: Bool
    private let bar: Locked<ProgressBar>
    /// Epochs done and runs finished, over all runs.
    private let counts = Locked((epochs: 0, runs: 0))

    init(label: String, runs: Int, epochsPerRun: Int, enabled: Bool) {
        self.label = label
        self.runs = runs
        self.epochsPerRun = epochsPerRun
        self.enabled = enabled
        bar = Locked(ProgressBar(total: runs * epochsPerRun, label: label, unit: "epoch", enabled: enabled))
    }

    /// The callback the experiments take: one epoch of the run described by `run` is done.
    var callback: EpochProgress {
        { [self] run, result in epochDone(run: run, result: result) }
    }

    private func epochDone(run: String, result: TrainingRun.EpochResult) {
        let finishedRun = result.epoch == epochsPerRun
        let counts = counts.withLock { counts -> (epochs: Int, runs: Int) in
            counts.epochs += 1
            if finishedRun { counts.runs += 1 }
            return counts
        }
        let summary = "\(run): test accuracy \(format(result.testAccuracy * 100, 2))%"
        bar.withLock { $0.update(done: counts.epochs, detail: summary) }
        if finishedRun && enabled && !ProgressBar.standardErrorIsATerminal {
            writeStandardError("\(label) [\(counts.runs)/\(runs)] \(summary)\n")
        }
    }

    /// Erases the bar.
    func finish() { bar.withLock { $0.finish() } }
}
