import ArgumentParser
import Charts
import CommandSupport
import Experiments
import Foundation
import Kernels
import Optim
import Training

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Adam with L2, AdamW and SGD with momentum, each at its best λ, over several seeds.",
        discussion: """
            The same MLP, seeds, data order and schedule for the three optimizers. Each one's λ is chosen from its \
            own grid by accuracy on a validation split held out of the training set (never the test set); then \
            each trains on the whole training set once per seed. Prints test accuracy, test loss, train loss and \
            final weight norm as mean ± standard deviation over the seeds, and writes compare-runs.csv, \
            compare-selection.csv, compare-summary.csv and compare.svg (loss and accuracy curves) to --out. With \
            --task gpt it trains nanoGPT's recipe for --iters: λ is chosen on one half of the validation split and \
            the other half reports the held-out loss.
            """
    )

    @OptionGroup var common: ExperimentOptions

    @OptionGroup var task: TaskOptions

    @Option(parsing: .unconditional, help: "Seeds of the final runs: --seed, --seed + 1, …")
    var seeds = 3

    @Option(name: .customLong("hidden"), help: "MNIST: hidden layer sizes of the MLP, comma-separated (default 256).")
    var hiddenGiven: String?

    var hidden: String { hiddenGiven ?? "256" }

    @Option(name: .customLong("scheduler"), help: "MNIST: learning-rate schedule of every run: none, cosine, warmup-cosine or onecycle (default cosine).")
    var schedulerGiven: TrainingOptions.Schedule?

    var scheduler: TrainingOptions.Schedule { schedulerGiven ?? .cosine }

    @Option(parsing: .unconditional, help: "Learning rate of Adam with L2 and of AdamW.")
    var adamLR = 1e-3

    @Option(name: .customLong("sgd-lr"), parsing: .unconditional, help: "Learning rate of SGD (default 0.05; GPT 0.1).")
    var sgdLRGiven: Double?

    var sgdLR: Double { sgdLRGiven ?? (task.isGPT ? 0.1 : 0.05) }

    @Option(parsing: .unconditional, help: "SGD's momentum.")
    var momentum = 0.9

    @Option(parsing: .unconditional, help: "λ grid of Adam with L2 (coupled), comma-separated (default 0,1e-5,1e-4,1e-3; GPT 0,1e-4,1e-3,1e-2).")
    var adamWDGrid: String?

    @Option(parsing: .unconditional, help: "λ grid of AdamW (decoupled, PyTorch's lr·λ), comma-separated (default 0,0.01,0.1,1; GPT 0,0.1,0.3,1).")
    var adamwWDGrid: String?

    @Option(parsing: .unconditional, help: "λ grid of SGD (coupled), comma-separated (default 0,1e-5,1e-4,1e-3; GPT 0,1e-5,1e-4,1e-3).")
    var sgdWDGrid: String?

    var grids: [(String, String)] {
        [("--adam-wd-grid", adamWDGrid ?? (task.isGPT ? "0,1e-4,1e-3,1e-2" : "0,1e-5,1e-4,1e-3")),
         ("--adamw-wd-grid", adamwWDGrid ?? (task.isGPT ? "0,0.1,0.3,1" : "0,0.01,0.1,1")),
         ("--sgd-wd-grid", sgdWDGrid ?? "0,1e-5,1e-4,1e-3")]
    }

    @Option(name: .customLong("validation-samples"), parsing: .unconditional, help: "MNIST: training samples held out to choose λ (default 10000).")
    var validationSamplesGiven: Int?

    var validationSamples: Int { validationSamplesGiven ?? 10_000 }

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "MNIST: samples per batch (default 64).")
    var batchSizeGiven: Int?

    var batchSize: Int { batchSizeGiven ?? 64 }

    @Option(parsing: .unconditional, help: "MNIST: train on the first this many training samples only (default: all).")
    var trainSamples: Int?

    static let defaultEpochs = 10

    /// The files the command writes in --out.
    static let files = ["compare-runs.csv", "compare-selection.csv", "compare-summary.csv", "compare.svg"]

    func validate() throws {
        try task.check(common, mnistOnly: [("--hidden", hiddenGiven != nil), ("--scheduler", schedulerGiven != nil), ("--validation-samples", validationSamplesGiven != nil), ("--batch-size", batchSizeGiven != nil), ("--train-samples", trainSamples != nil)])
        guard (1...1000).contains(seeds) else { throw ValidationError("--seeds must be between 1 and 1000, got \(seeds)") }
        _ = try parseHidden(hidden)
        for (name, value) in [("--adam-lr", adamLR), ("--sgd-lr", sgdLR)] where !(value.isFinite && value > 0 && Float(value).isFinite) {
            throw ValidationError("\(name) must be a positive number within Float's range, got \(value)")
        }
        guard momentum.isFinite, (0..<1).contains(momentum) else {
            throw ValidationError("--momentum must be in [0, 1), got \(momentum)")
        }
        _ = try contenders()
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard validationSamples >= 1 else {
            throw ValidationError("--validation-samples must be at least 1, got \(validationSamples)")
        }
        if let trainSamples, trainSamples < 1 { throw ValidationError("--train-samples must be at least 1, got \(trainSamples)") }
        if scheduler == .plateau {
            throw ValidationError("--scheduler plateau watches the evaluation loss, which in the final runs is the test "
                                  + "set's: choose none, cosine, warmup-cosine or onecycle")
        }
        if scheduler == .onecycle && momentum == 0 {
            throw ValidationError("--scheduler onecycle cycles SGD's momentum: give a --momentum above 0")
        }
    }

    func contenders() throws -> [Comparison.Contender<TrainingOptions>] {
        var base = try common.mlpOptions(hidden: hidden, batchSize: batchSize)  // each run's seed is set by Comparison
        base.scheduler = scheduler
        base.scheduleEpochs = common.epochs ?? Self.defaultEpochs
        base.trainSamples = trainSamples
        var adam = base, adamw = base, sgd = base
        try OptimizerFlags.naming {
            adam.optimizer = try OptimizerChoice(.adam, settings: ["lr": String(adamLR)])
            adamw.optimizer = try OptimizerChoice(.adamw, settings: ["lr": String(adamLR)])
            sgd.optimizer = try OptimizerChoice(.sgd, settings: ["lr": String(sgdLR), "momentum": String(momentum)])
        }
        let grids = try self.grids.map { option, text in
                let values = try parseNumbers(text, option: option)
                if let negative = values.first(where: { $0 < 0 }) {
                    throw ValidationError("\(option) must hold λ ≥ 0, got \(negative)")
                }
                return values
            }
        return [Comparison.Contender(name: "Adam+L2", settings: adam, weightDecays: grids[0]),
                Comparison.Contender(name: "AdamW", settings: adamw, weightDecays: grids[1]),
                Comparison.Contender(name: "SGD", settings: sgd, weightDecays: grids[2])]
    }

    /// How a task's comparison is printed: its headings, the table and files' columns, and its summary line.
    struct View {
        /// The line above the selections, and how one selection reads ("λ=0.01 97.50%").
        let selectionHeading: String
        let selectionCell: (Comparison.Selection) -> String
        /// The line above the table, the table's header, widths and rows.
        let resultsHeading: String
        let tableHeader: [String], widths: [Int]
        let tableRow: (Comparison.Summary) -> [String]
        /// compare-runs.csv: the columns after optimizer, weight_decay and seed, and a curve point's cells.
        let runColumns: [String]
        let runCells: (RunRecord.Point) -> [String]
        /// compare-selection.csv: the columns after optimizer and weight_decay, and a selection's cells.
        let selectionColumns: [String]
        let selectionCells: (RunRecord) -> [String]
        /// compare-summary.csv: the four measures' names (each with _mean and _std) and values.
        let measureNames: [String]
        let measures: (Comparison.Summary) -> [MeanAndDeviation]
        let figure: (Comparison.Outcome) -> String
        /// What follows the "Wrote …" line's files, given the seconds; the summary line, given them too.
        let wroteNote: (Double) -> String
        let summary: (Comparison.Outcome, Double) -> String
    }

    func run() throws {
        let seedList = (0..<seeds).map { common.seed &+ UInt64($0) }
        if task.isGPT {
            let iterations = task.iterations(default: 1000), interval = task.interval(default: 1000)
            let output = try common.outputDirectory(default: "results/compare-gpt", files: Self.files, task: task)
            let data = try task.data()
            let grids = try self.grids.map { option, text in try parseNumbers(text, option: option) }
            func recipe(_ kind: OptimizerKind, lr: Double, extra: [String: String] = [:]) throws -> GPTRecipe {
                var recipe = try OptimizerFlags.naming {
                    try GPTRecipe(optimizer: kind, given: ["lr": String(lr)].merging(extra) { $1 })
                }
                recipe.minLR = lr / 10
                recipe.seed = common.seed
                return recipe
            }
            let contenders = [
                Comparison.Contender(name: "Adam+L2", settings: try recipe(.adam, lr: adamLR), weightDecays: grids[0]),
                Comparison.Contender(name: "AdamW", settings: try recipe(.adamw, lr: adamLR), weightDecays: grids[1]),
                Comparison.Contender(name: "SGD", settings: try recipe(.sgd, lr: sgdLR, extra: ["momentum": String(momentum)]),
                                     weightDecays: grids[2]),
            ]
            let runCount = contenders.reduce(0) { $0 + $1.weightDecays.count } + contenders.count * seeds
            let experiment = GPTExperiment(data: data, iterations: iterations, evalInterval: interval,
                                           finished: TaskOptions.finished(enabled: !common.noProgress, total: runCount))
            let trainCharacters = data.corpus.tokens(of: .train).count
            return try compare(experiment, contenders: contenders, seeds: seedList, output: output,
                               view: gptView(iterations: iterations, runs: runCount, trainCharacters: trainCharacters)) {}
        }
        let epochs = common.epochs ?? Self.defaultEpochs
        let output = try common.outputDirectory(default: "results/compare", files: Self.files, task: task)
        let data = try common.data()
        let contenders = try contenders()
        let runCount = contenders.reduce(0) { $0 + $1.weightDecays.count } + contenders.count * seeds
        let progress = RunsProgress(label: "compare", runs: runCount, epochsPerRun: epochs, enabled: !common.noProgress)
        let experiment = MNISTExperiment(train: data.train, test: data.test, epochs: epochs,
                                         validationSamples: validationSamples, progress: progress.callback)
        try compare(experiment, contenders: contenders, seeds: seedList, output: output, view: mnistView(epochs: epochs)) {
            progress.finish()
        }
    }

    /// The comparison of `contenders` on `task`, printed and written as `view` says; `trained` is called when every
    /// run has trained.
    func compare<Task: ExperimentTask>(
        _ task: Task, contenders: [Comparison.Contender<Task.Settings>], seeds seedList: [UInt64],
        output: OutputDirectory, view: View, trained: () -> Void
    ) throws {
        let start = monotonicSeconds()
        let outcome = try Comparison.run(task, contenders: contenders, seeds: seedList, runner: try common.runner())
        let seconds = monotonicSeconds() - start
        trained()

        print(view.selectionHeading)
        for contender in contenders {
            let own = outcome.selections.filter { $0.contender == contender.name }
            print("  \(contender.name): " + own.map(view.selectionCell).joined(separator: ", "))
        }
        print("")
        print(view.resultsHeading)
        print(tableRow(view.tableHeader, widths: view.widths))
        for s in outcome.summaries { print(tableRow(view.tableRow(s), widths: view.widths)) }

        var runs = CSVTable(header: ["optimizer", "weight_decay", "seed"] + view.runColumns)
        for run in outcome.runs {
            for point in run.record.curve {
                runs.append([run.contender, "\(run.weightDecay)", "\(run.seed)"] + view.runCells(point))
            }
        }
        var selection = CSVTable(header: ["optimizer", "weight_decay"] + view.selectionColumns)
        for s in outcome.selections { selection.append([s.contender, "\(s.weightDecay)"] + view.selectionCells(s.record)) }
        var summary = CSVTable(header: ["optimizer", "weight_decay", "seeds"]
                               + view.measureNames.flatMap { ["\($0)_mean", "\($0)_std"] })
        for s in outcome.summaries {
            summary.append([s.contender, "\(s.weightDecay)", "\(s.seeds)"]
                           + view.measures(s).flatMap { ["\($0.mean)", "\($0.deviation)"] })
        }
        let files = [
            try output.write(runs.rendered, to: "compare-runs.csv"),
            try output.write(selection.rendered, to: "compare-selection.csv"),
            try output.write(summary.rendered, to: "compare-summary.csv"),
            try output.write(view.figure(outcome), to: "compare.svg"),
        ]
        print("Wrote " + files.joined(separator: ", ") + view.wroteNote(seconds))
        print(view.summary(outcome, seconds))
    }

    /// The summary line's fields of each contender: its λ and `measure` (mean and deviation, as `name`).
    static func summaryFields(_ outcome: Comparison.Outcome, _ name: String, scale: Double, digits: Int,
                              _ measure: (Comparison.Summary) -> MeanAndDeviation) -> String {
        outcome.summaries.map { s in
            let key = s.contender.lowercased().replacingOccurrences(of: "+", with: "_")
            return "\(key)_wd=\(s.weightDecay) \(key)_\(name)=\(format(measure(s).mean * scale, digits)) "
                + "\(key)_\(name)_std=\(format(measure(s).deviation * scale, digits))"
        }.joined(separator: " ")
    }

    /// MNIST: accuracies, test losses, and the epochs' curves.
    func mnistView(epochs: Int) -> View {
        View(
            selectionHeading: "λ chosen on \(validationSamples) validation samples held out of the training set (seed \(common.seed)):",
            selectionCell: { "λ=\(shortNumber($0.weightDecay)) \(format(($0.record.accuracy ?? .nan) * 100, 2))%" },
            resultsHeading: "After \(epochs) epochs (\(scheduler.rawValue) schedule), mean ± std over \(seeds) seed(s):",
            tableHeader: ["optimizer", "λ", "test accuracy %", "test loss", "train loss", "weight norm"], widths: Self.widths,
            tableRow: { s in
                [s.contender, shortNumber(s.weightDecay), Self.text(Self.accuracy(s), scale: 100, 2),
                 Self.text(s.evaluationLoss, 4), Self.text(s.trainLoss, 4), Self.text(s.weightNorm, 2)]
            },
            runColumns: ["epoch", "train_loss", "test_loss", "test_accuracy", "lr"],
            runCells: { ["\($0.step)", "\($0.trainLoss)", "\($0.evaluationLoss)", "\($0.accuracy ?? .nan)", "\($0.learningRate ?? .nan)"] },
            selectionColumns: ["validation_accuracy", "validation_loss"],
            selectionCells: { ["\($0.accuracy ?? .nan)", "\($0.evaluationLoss)"] },
            measureNames: ["test_accuracy", "test_loss", "train_loss", "weight_norm"],
            measures: { [Self.accuracy($0), $0.evaluationLoss, $0.trainLoss, $0.weightNorm] },
            figure: { [seeds, scheduler] outcome in
                Self.figure(outcome, contenders: outcome.summaries.map(\.contender), seeds: seeds, schedule: scheduler.rawValue)
            },
            wroteNote: { _ in "" },
            summary: { [seeds] outcome, _ in
                "summary job=compare epochs=\(epochs) seeds=\(seeds) "
                    + Self.summaryFields(outcome, "accuracy", scale: 100, digits: 2, Self.accuracy)
            })
    }

    /// An MNIST summary's accuracy (every MNIST run has one).
    static func accuracy(_ summary: Comparison.Summary) -> MeanAndDeviation {
        summary.accuracy ?? MeanAndDeviation([.nan])
    }

    static func text(_ value: MeanAndDeviation, scale: Double = 1, _ digits: Int) -> String {
        "\(format(value.mean * scale, digits)) ± \(format(value.deviation * scale, digits))"
    }

    static let widths = [9, 6, 16, 18, 18, 14]

    /// Train loss, test loss and test accuracy per epoch, mean ± std over the seeds, side by side.
    static func figure(_ outcome: Comparison.Outcome, contenders: [String], seeds: Int, schedule: String) -> String {
        let metrics: [(String, String, Axis.Scale, (RunRecord.Point) -> Double)] = [
            ("Train loss", "mean cross-entropy", .logarithmic, { $0.trainLoss }),
            ("Test loss", "mean cross-entropy", .linear, { $0.evaluationLoss }),
            ("Test accuracy", "%", .linear, { ($0.accuracy ?? .nan) * 100 }),
        ]
        let panelWidth = 520.0, panelHeight = 400.0
        var canvas = SVGCanvas(width: panelWidth * Double(metrics.count), height: panelHeight + 44)
        canvas.text("Adam+L2, AdamW and SGD at their best λ: mean ± std over \(seeds) seed(s), \(schedule) schedule",
                    x: panelWidth * Double(metrics.count) / 2, y: 26, size: 16, anchor: .middle, bold: true)
        for (index, (title, unit, scale, metric)) in metrics.enumerated() {
            let series = contenders.map { name in
                let curve = Comparison.curve(outcome.runs, contender: name, metric)
                let weightDecay = outcome.summaries.first { $0.contender == name }?.weightDecay ?? .nan
                return LineChart.Series(name: "\(name) λ=\(shortNumber(weightDecay))",
                                        points: curve.map { (Double($0.step), $0.value.mean) },
                                        spread: curve.map(\.value.deviation))
            }
            LineChart(title: title, xLabel: "epoch", yLabel: unit, series: series, yScale: scale)
                .draw(in: &canvas, x: panelWidth * Double(index), y: 44, width: panelWidth, height: panelHeight)
        }
        return canvas.rendered()
    }
}
