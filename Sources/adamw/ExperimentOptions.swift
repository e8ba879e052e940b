import ArgumentParser
import CommandSupport
import Datasets
import Foundation
import Experiments
import Kernels
import Training

/// The options every experiment command takes: seed, epochs, output folder, data, parallelism and progress.
struct ExperimentOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Seed of initialization and shuffling (default 0).")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Epochs of each training run (each command has its own default).")
    var epochs: Int?

    @Option(help: "Folder for the CSV and SVG files (created if needed).")
    var out: String?

    @Option(help: "Directory of the MNIST files (default: the repository's Data/mnist).")
    var dataDir: String?

    @Option(parsing: .unconditional, help: "Training runs at once, sharing the processors (default: one per processor).")
    var jobs: Int?

    @Flag(help: "No progress bar (on a terminal) or progress lines (otherwise) on standard error.")
    var noProgress = false

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let jobs, !(1...256).contains(jobs) { throw ValidationError("--jobs must be between 1 and 256, got \(jobs)") }
        if out?.isEmpty == true { throw ValidationError("--out must name a folder") }
    }

    /// The runner that trains `jobs` runs at once (default: one per usable processor, one thread each).
    func runner() throws -> ParallelRuns {
        try ParallelRuns(jobs: jobs ?? min(256, max(1, ThreadPool.usableProcessorCount())))
    }

    /// The training and test sets, or a one-line error naming the file and the problem.
    func data() throws -> (train: MNIST, test: MNIST) {
        do {
            return try MNIST.load(directory: dataDir)
        } catch {
            throw Refusal("\(error)")  // bad data is not a usage error: status 1, no usage text
        }
    }

    /// The model every experiment trains, an MLP with `hidden` layer sizes, in batches of `batchSize` from --seed;
    /// the command sets the optimizer and the rest.
    func mlpOptions(hidden: String, batchSize: Int) throws -> TrainingOptions {
        var options = TrainingOptions()
        options.model = .mlp
        options.hidden = try parseHidden(hidden)
        options.batchSize = batchSize
        options.seed = seed
        return options
    }

    /// The output folder, created, and checked for the `files` the command writes there: none may be one of the
    /// `task`'s inputs.
    func outputDirectory(default name: String, files: [String], task: TaskOptions) throws -> OutputDirectory {
        let inputs = task.isGPT ? [("--text", task.text ?? TextCorpus.tinyShakespeare)]
            : MNIST.files(in: dataDir).map { ("--data-dir", $0) }
        do {
            return try OutputDirectory(out ?? name, files: files, inputs: inputs)
        } catch {
            throw Refusal("\(error)")
        }
    }
}

/// Parses a comma-separated list of numbers, naming the option in the error.
func parseNumbers(_ text: String, option: String, atLeast count: Int = 1) throws -> [Double] {
    let values = text.split(separator: ",", omittingEmptySubsequences: false)
        .map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard values.count >= count, values.allSatisfy({ $0?.isFinite == true }) else {
        throw ValidationError("\(option) must be \(count == 1 ? "" : "at least \(count) ")finite numbers separated by commas, got '\(text)'")
    }
    return values.compactMap { $0 }
}

/// Parses hidden layer sizes such as "128" or "256,128".
func parseHidden(_ text: String) throws -> [Int] {
    let sizes = text.split(separator: ",", omittingEmptySubsequences: false).map {
        Int($0.trimmingCharacters(in: .whitespaces))
    }
    guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else {
        throw ValidationError("--hidden must be positive integers separated by commas, got '\(text)'")
    }
    let hidden = sizes.compactMap { $0 }
    try MemoryLimit.requireMLP(hidden: hidden, text: text)
    return hidden
}

/// A number as a short label: 0.001 → "1e-3", 0.0316 → "3.2e-2", 0 → "0" (two significant digits).
func shortNumber(_ value: Double) -> String {
    guard value != 0, value.isFinite else { return value == 0 ? "0" : "\(value)" }
    // "%.1e" rounds the mantissa (9.96e-3 becomes 1.0e-02); then drop a ".0" and the exponent's padding.
    let parts = String(format: "%.1e", value).split(separator: "e")
    guard parts.count == 2, let exponent = Int(parts[1]) else { return "\(value)" }
    let mantissa = parts[0].hasSuffix(".0") ? String(parts[0].dropLast(2)) : String(parts[0])
    return "\(mantissa)e\(exponent)"
}
