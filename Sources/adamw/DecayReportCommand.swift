import ArgumentParser
import Charts
import CommandSupport
import Experiments
import Foundation
import Kernels
import Optim
import Training

struct DecayReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decay-report",
        abstract: "How much decay each weight gets per step: Adam with L2 against AdamW at the same λ.",
        discussion: """
            Trains a short MLP on MNIST twice, as Adam with L2 and as AdamW (same λ, lr, seed and data order). \
            After every epoch, per parameter and per decile of gradient magnitude √v̂, it records the shrink the \
            decay term applies per step: lr·λ/(√v̂+ε) for Adam with L2 (the λθ term divided by Adam's scaling) and \
            lr·λ for AdamW. Prints the last epoch as a table and writes decay-report.csv, \
            decay-report-training.csv and decay-report.svg to --out. With --task gpt it trains nanoGPT's recipe \
            for --iters instead and reports by kind of parameter (embeddings, attention, MLP; with --decay-all \
            also the LayerNorm weights and biases).
            """
    )

    @OptionGroup var common: ExperimentOptions

    @OptionGroup var task: TaskOptions

    @Option(name: .customLong("hidden"), help: "MNIST: hidden layer sizes of the MLP, comma-separated (default 128).")
    var hiddenGiven: String?

    var hidden: String { hiddenGiven ?? "128" }

    @Option(parsing: .unconditional, help: "Learning rate of both runs.")
    var lr = 1e-3

    @Option(parsing: .unconditional, help: "λ of both runs: coupled L2 for Adam, decoupled for AdamW (default 0.01; GPT 0.1).")
    var weightDecay: Double?

    @Flag(help: "GPT: decay every parameter, LayerNorm weights and biases included (they are then reported too).")
    var decayAll = false

    var lambda: Double { weightDecay ?? (task.isGPT ? 0.1 : 0.01) }

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "MNIST: samples per batch (default 64).")
    var batchSizeGiven: Int?

    var batchSize: Int { batchSizeGiven ?? 64 }

    static let defaultEpochs = 3

    /// The files the command writes in --out.
    static let files = ["decay-report.csv", "decay-report-training.csv", "decay-report.svg"]

    func validate() throws {
        _ = try parseHidden(hidden)
        guard lr.isFinite, lr > 0, Float(lr).isFinite else {
            throw ValidationError("--lr must be a positive number within Float's range, got \(lr)")
        }
        guard lambda.isFinite, lambda > 0 else {
            throw ValidationError("--weight-decay must be a positive number, got \(lambda)")
        }
        try task.check(common, mnistOnly: [("--hidden", hiddenGiven != nil), ("--batch-size", batchSizeGiven != nil)])
        if decayAll && !task.isGPT { throw ValidationError("--decay-all applies only to --task gpt") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    /// How a task's report is printed: what its steps and groups are called and how its lines say the result.
    struct View {
        /// The step and group columns of decay-report.csv ("epoch", "parameter"; "iteration", "kind").
        let step: String, group: String
        /// The step the tables show (the last).
        let last: Int
        /// decay-report-training.csv's header and one line of it for a curve point.
        let trainingHeader: [String]
        let trainingRow: (RunRecord.Point) -> [String]
        /// The two lines above the tables.
        let heading: [String]
        /// The line on the two runs' results, given both records and the seconds they took; the summary line, given
        /// also the shrink fields of the last step.
        let results: (RunRecord?, RunRecord?, Double) -> String
        let summary: (RunRecord?, RunRecord?, String, Double) -> String
        /// When the figure's shrink is measured ("epoch 3", "500 GPT iterations").
        let after: String
    }

    func run() throws {
        if task.isGPT {
            let iterations = task.iterations(default: 500), interval = task.interval(default: 500)
            let output = try common.outputDirectory(default: "results/decay-report-gpt", files: Self.files, task: task)
            let data = try task.data()
            var recipe = try OptimizerFlags.naming {
                try GPTRecipe(optimizer: .adamw, given: ["lr": String(lr), "weight_decay": String(lambda)])
            }
            recipe.training.decay = decayAll ? .all : .exceptBiasesAndNorms
            recipe.seed = common.seed
            let experiment = GPTExperiment(data: data, iterations: iterations, evalInterval: interval,
                                           finished: TaskOptions.finished(enabled: !common.noProgress, total: 2))
            func heldOut(_ record: RunRecord?) -> String { format(record?.heldOutLoss ?? .nan, 4) }
            let view = View(
                step: "iteration", group: "kind", last: iterations,
                trainingHeader: ["optimizer", "iteration", "train_loss", "selection_loss"],
                trainingRow: { ["\($0.step)", "\($0.trainLoss)", "\($0.evaluationLoss)"] },
                heading: ["Per-step shrink of each decayed weight after \(iterations) iterations of the GPT (lr \(lr), λ \(lambda)"
                          + (decayAll ? ", every parameter decayed" : ", biases and LayerNorm weights not decayed") + "),",
                          "by kind of parameter and decile of the weight's gradient magnitude √v̂ (1 = smallest)."],
                results: { l2, w, seconds in
                    "Held-out validation loss: Adam+L2 \(heldOut(l2)), AdamW \(heldOut(w)) (\(format(seconds, 1)) s)"
                },
                summary: { l2, w, shrink, seconds in
                    "summary job=decay-report task=gpt iters=\(iterations) lr=\(lr) weight_decay=\(lambda) decay_all=\(decayAll) "
                        + "adam_l2_heldout_loss=\(heldOut(l2)) adamw_heldout_loss=\(heldOut(w)) \(shrink) seconds=\(format(seconds, 1))"
                },
                after: "\(iterations) GPT iterations")
            return try report(experiment, settings: recipe, output: output, view: view) {}
        }
        let epochs = common.epochs ?? Self.defaultEpochs
        let output = try common.outputDirectory(default: "results/decay-report", files: Self.files, task: task)
        let data = try common.data()
        var options = try common.mlpOptions(hidden: hidden, batchSize: batchSize)
        options.optimizer = try OptimizerFlags.naming {
            try OptimizerChoice(.adamw, settings: ["lr": String(lr), "weight_decay": String(lambda)])
        }
        let progress = RunsProgress(label: "decay-report", runs: 2, epochsPerRun: epochs, enabled: !common.noProgress)
        let experiment = MNISTExperiment(train: data.train, test: data.test, epochs: epochs, progress: progress.callback)
        func accuracy(_ record: RunRecord?) -> String { format((record?.accuracy ?? .nan) * 100, 2) }
        let view = View(
            step: "epoch", group: "parameter", last: epochs,
            trainingHeader: ["optimizer", "epoch", "train_loss", "test_loss", "test_accuracy"],
            trainingRow: { ["\($0.step)", "\($0.trainLoss)", "\($0.evaluationLoss)", "\($0.accuracy ?? .nan)"] },
            heading: ["Per-step shrink of each weight by the decay term after epoch \(epochs) (lr \(lr), λ \(lambda)),",
                      "by decile of the weight's gradient magnitude √v̂ (1 = smallest). AdamW: lr·λ for every weight."],
            results: { l2, w, _ in "Test accuracy: Adam+L2 \(accuracy(l2))%, AdamW \(accuracy(w))%" },
            summary: { l2, w, shrink, _ in
                "summary job=decay-report epochs=\(epochs) lr=\(lr) weight_decay=\(lambda) "
                    + "adam_l2_accuracy=\(accuracy(l2)) adamw_accuracy=\(accuracy(w)) \(shrink)"
            },
            after: "epoch \(epochs)")
        try report(experiment, settings: options, output: output, view: view) { progress.finish() }
    }

    /// The report of `settings` on `task`, printed and written as `view` says; `trained` is called when both runs
    /// have trained.
    func report<Task: ExperimentTask>(
        _ task: Task, settings: Task.Settings, output: OutputDirectory, view: View, trained: () -> Void
    ) throws {
        let start = monotonicSeconds()
        let (rows, records) = try DecayReport.run(task, settings: settings, runner: try common.runner())
        let seconds = monotonicSeconds() - start
        trained()

        let table = Self.decileTable(rows, step: view.step, group: view.group)
        var training = CSVTable(header: view.trainingHeader)
        for name in ["Adam+L2", "AdamW"] {
            for point in records[name]?.curve ?? [] { training.append([name] + view.trainingRow(point)) }
        }
        let last = rows.filter { $0.epoch == view.last }
        let groups = last.reduce(into: [String]()) { names, row in
            if !names.contains(row.parameter) { names.append(row.parameter) }
        }
        for line in view.heading { print(line) }
        Self.printDeciles(last, parameters: groups)
        print("")
        let adamL2 = records["Adam+L2"], adamW = records["AdamW"]
        print(view.results(adamL2, adamW, seconds))
        let csv = try output.write(table.rendered, to: "decay-report.csv")
        let trainingCSV = try output.write(training.rendered, to: "decay-report-training.csv")
        let svg = try output.write(Self.figure(last, parameters: groups, lr: lr, weightDecay: lambda, after: view.after),
                                   to: "decay-report.svg")
        print("Wrote \(csv), \(trainingCSV) and \(svg)")
        print(view.summary(adamL2, adamW, Self.shrinkFields(last), seconds))
    }

    static let widths = [6, 12, 15, 12, 13, 11]

    /// decay-report.csv: one line a decile of each group (parameter or kind) after each `step` (epoch or iteration).
    static func decileTable(_ rows: [DecayReport.Row], step: String, group: String) -> CSVTable {
        var table = CSVTable(header: ["optimizer", step, group, "decile", "weights", "sqrt_vhat_min", "sqrt_vhat_median",
                                      "sqrt_vhat_max", "shrink_median", "shrink_mean"])
        for row in rows {
            let d = row.decile
            table.append([row.optimizer, "\(row.epoch)", row.parameter, "\(d.index)", "\(d.weights)",
                          "\(d.minimumMagnitude)", "\(d.medianMagnitude)", "\(d.maximumMagnitude)",
                          "\(d.medianShrink)", "\(d.meanShrink)"])
        }
        return table
    }

    /// The summary's smallest and largest median shrink of each optimizer.
    static func shrinkFields(_ last: [DecayReport.Row]) -> String {
        let l2 = last.filter { $0.optimizer == "Adam+L2" }.map(\.decile.medianShrink)
        let w = last.filter { $0.optimizer == "AdamW" }.map(\.decile.medianShrink)
        return "adam_l2_shrink_min=\(l2.min() ?? .nan) adam_l2_shrink_max=\(l2.max() ?? .nan) "
            + "adamw_shrink_min=\(w.min() ?? .nan) adamw_shrink_max=\(w.max() ?? .nan)"
    }

    /// Per parameter (or kind), the two optimizers' median √v̂ and shrink by decile, and their ratio.
    static func printDeciles(_ last: [DecayReport.Row], parameters: [String]) {
        for parameter in parameters {
            let l2 = last.filter { $0.parameter == parameter && $0.optimizer == "Adam+L2" }.map(\.decile)
            let w = last.filter { $0.parameter == parameter && $0.optimizer == "AdamW" }.map(\.decile)
            print("")
            print("\(parameter) (\(l2.reduce(0) { $0 + $1.weights }) weights)")
            print(tableRow(["decile", "√v̂ Adam+L2", "shrink Adam+L2", "√v̂ AdamW", "shrink AdamW", "L2 / AdamW"],
                           widths: widths))
            for (a, b) in zip(l2, w) {
                print(tableRow(["\(a.index)", shortNumber(a.medianMagnitude), shortNumber(a.medianShrink),
                                shortNumber(b.medianMagnitude), shortNumber(b.medianShrink),
                                format(a.medianShrink / b.medianShrink, 1) + "×"], widths: widths))
            }
        }
    }

    /// One bar chart per parameter (two per row): the two optimizers' median shrink per decile, log scale.
    static func figure(_ rows: [DecayReport.Row], parameters: [String], lr: Double, weightDecay: Double,
                       after: String) -> String {
        let panelWidth = 560.0, panelHeight = 380.0, columns = 2
        let panelRows = (parameters.count + columns - 1) / columns
        var canvas = SVGCanvas(width: panelWidth * Double(columns), height: 50 + panelHeight * Double(panelRows))
        canvas.text("Per-step shrink by weight decay after \(after) (lr \(lr), λ \(weightDecay))",
                    x: panelWidth * Double(columns) / 2, y: 26, size: 16, anchor: .middle, bold: true)
        for (index, parameter) in parameters.enumerated() {
            let own = rows.filter { $0.parameter == parameter }
            let series = ["Adam+L2", "AdamW"].map { name in
                (name: name, values: own.filter { $0.optimizer == name }.map(\.decile.medianShrink))
            }
            let chart = BarChart(
                title: parameter, categories: own.filter { $0.optimizer == "Adam+L2" }.map { "\($0.decile.index)" },
                xLabel: "decile of gradient magnitude √v̂ (small → large)", yLabel: "shrink per step",
                series: series, yScale: .logarithmic)
            chart.draw(in: &canvas, x: panelWidth * Double(index % columns),
                       y: 50 + panelHeight * Double(index / columns), width: panelWidth, height: panelHeight)
        }
        return canvas.rendered()
    }
}
