import CommandSupport
import Experiments
import Kernels
import Training

/// Progress of an experiment made of many training runs, reported from the threads that train them: a bar over
/// every epoch of every run on a terminal, or one line per finished run on standard error otherwise.
/// `--no-progress` silences both.
final class RunsProgress: Sendable {
    private let label: String
    private let runs: Int
    private let epochsPerRun: Int
    private let enabled: Bool
    /// The bar, and the epochs done and runs finished over all runs, under one lock so that reports from several
    /// threads are counted and drawn in the same order.
    private let state: Locked<(bar: ProgressBar, epochs: Int, runs: Int)>

    init(label: String, runs: Int, epochsPerRun: Int, enabled: Bool) {
        self.label = label
        self.runs = runs
        self.epochsPerRun = epochsPerRun
        self.enabled = enabled
        state = Locked((ProgressBar(total: runs * epochsPerRun, label: label, unit: "epoch", enabled: enabled), 0, 0))
    }

    /// The callback the experiments take: one epoch of the run described by `run` is done.
    var callback: EpochProgress {
        { [self] run, result in epochDone(run: run, result: result) }
    }

    private func epochDone(run: String, result: TrainingRun.EpochResult) {
        let finishedRun = result.epoch == epochsPerRun
        let summary = "\(run): test accuracy \(format(result.testAccuracy * 100, 2))%"
        state.withLock { state in
            state.epochs += 1
            state.bar.update(done: state.epochs, detail: summary)
            guard finishedRun else { return }
            state.runs += 1
            if enabled && !ProgressBar.standardErrorIsATerminal {
                writeStandardError("\(label) [\(state.runs)/\(runs)] \(summary)\n")
            }
        }
    }

    /// Erases the bar.
    func finish() { state.withLock { $0.bar.finish() } }
}
