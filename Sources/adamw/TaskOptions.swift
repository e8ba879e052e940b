import ArgumentParser
import CommandSupport
import Datasets
import Experiments
import Foundation
import Kernels

/// `--task mnist|gpt` and the GPT's run length and text, shared by decay-report, compare, sweep and tune.
struct TaskOptions: ParsableArguments {
    /// The experiment's task (an ``Experiments/ExperimentTask``: ``Experiments/MNISTExperiment`` or
    /// ``Experiments/GPTExperiment``).
    enum Choice: String, ExpressibleByArgument, CaseIterable {
        case mnist, gpt
    }

    @Option(help: "What the runs train: mnist (an MLP on MNIST, by epochs; the default) or gpt (nanoGPT's character-level recipe, by iterations).")
    var task: Choice = .mnist

    @Option(parsing: .unconditional, help: "GPT: iterations of each run (each command has its own default).")
    var iters: Int?

    @Option(parsing: .unconditional, help: "GPT: evaluate every this many iterations (default: a fifth of --iters).")
    var evalInterval: Int?

    @Option(parsing: .unconditional, help: "GPT: train on the first this many characters of the training split (default: all 1,003,854). A short text trained long is where validation loss rises without decay.")
    var trainChars: Int?

    @Option(help: "GPT: a UTF-8 text instead of Tiny Shakespeare.")
    var text: String?

    var isGPT: Bool { task == .gpt }

    /// Checks that the options fit the task: `common`'s --epochs and --data-dir, and the command's `mnistOnly`
    /// flags (flag, whether given), are refused with --task gpt, which would not read them; the GPT's flags are
    /// refused with --task mnist.
    func check(_ common: ExperimentOptions, mnistOnly: [(flag: String, given: Bool)] = []) throws {
        if isGPT {
            if common.epochs != nil { throw ValidationError("--epochs applies to --task mnist; the GPT trains --iters iterations") }
            let unread = [("--data-dir", common.dataDir != nil)] + mnistOnly
            if let given = unread.first(where: \.1) {
                throw ValidationError("\(given.0) applies only to --task mnist; the GPT does not read it")
            }
            if let iters, !(1...1_000_000).contains(iters) {
                throw ValidationError("--iters must be between 1 and 1000000, got \(iters)")
            }
            if let evalInterval, evalInterval < 1 { throw ValidationError("--eval-interval must be at least 1, got \(evalInterval)") }
            if let trainChars, trainChars < 1000 {
                throw ValidationError("--train-chars must be at least 1000, got \(trainChars)")
            }
        } else if let given = [("--iters", iters != nil), ("--eval-interval", evalInterval != nil),
                               ("--train-chars", trainChars != nil), ("--text", text != nil)].first(where: \.1) {
            throw ValidationError("\(given.0) applies only to --task gpt")
        }
    }

    func iterations(default value: Int) -> Int { iters ?? value }

    func interval(default value: Int) -> Int { evalInterval ?? max(1, iterations(default: value) / 5) }

    /// The experiment's texts, or one line naming the problem.
    func data() throws -> GPTExperiment.Data {
        do {
            return try GPTExperiment.Data(try TextCorpus(contentsOf: text ?? TextCorpus.tinyShakespeare),
                                          trainCharacters: trainChars)
        } catch {
            throw Refusal("\(error)")
        }
    }

    /// A line on standard error as each GPT run ends (none with --no-progress).
    static func finished(enabled: Bool, total: Int) -> @Sendable (String) -> Void {
        let done = Locked(0)
        return { name in
            guard enabled else { return }
            let count = done.withLock { value -> Int in value += 1; return value }
            FileHandle.standardError.write(Data("[\(count)/\(total)] \(name) done\n".utf8))
        }
    }
}
