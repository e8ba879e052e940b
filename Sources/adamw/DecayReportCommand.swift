import ArgumentParser
import Charts
import CommandSupport
import Experiments
import Foundation

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

    func run() throws {
        if task.isGPT { return try runGPT() }
        let epochs = common.epochs ?? Self.defaultEpochs
        let output = try common.outputDirectory(default: "results/decay-report", files: Self.files, task: task)
        let data = try common.data()
        var options = try common.mlpOptions(hidden: hidden, batchSize: batchSize)
        options.lr = lr
        options.weightDecay = lambda
        let progress = RunsProgress(label: "decay-report", runs: 2, epochsPerRun: epochs, enabled: !common.noProgress)
        let task = MNISTExperiment(train: data.train, test: data.test, epochs: epochs, progress: progress.callback)
        let (rows, records) = try DecayReport.run(task, settings: options, runner: try common.runner())
        progress.finish()

        let table = Self.decileTable(rows, step: "epoch", group: "parameter")
        var training = CSVTable(header: ["optimizer", "epoch", "train_loss", "test_loss", "test_accuracy"])
        for name in ["Adam+L2", "AdamW"] {
            for point in records[name]?.curve ?? [] {
                training.append([name, "\(point.step)", "\(point.trainLoss)", "\(point.evaluationLoss)",
                                 "\(point.accuracy ?? .nan)"])
            }
        }
        let last = rows.filter { $0.epoch == epochs }
        let parameters = last.reduce(into: [String]()) { names, row in
            if !names.contains(row.parameter) { names.append(row.parameter) }
        }
        print("Per-step shrink of each weight by the decay term after epoch \(epochs) (lr \(lr), λ \(lambda)),")
        print("by decile of the weight's gradient magnitude √v̂ (1 = smallest). AdamW: lr·λ for every weight.")
        Self.printDeciles(last, parameters: parameters)
        let adamL2 = records["Adam+L2"], adamW = records["AdamW"]
        print("")
        print("Test accuracy: Adam+L2 \(format((adamL2?.accuracy ?? .nan) * 100, 2))%, "
              + "AdamW \(format((adamW?.accuracy ?? .nan) * 100, 2))%")
        let csv = try output.write(table.rendered, to: "decay-report.csv")
        let trainingCSV = try output.write(training.rendered, to: "decay-report-training.csv")
        let svg = try output.write(Self.figure(last, parameters: parameters, lr: lr, weightDecay: lambda,
                                               after: "epoch \(epochs)"), to: "decay-report.svg")
        print("Wrote \(csv), \(trainingCSV) and \(svg)")
        print("summary job=decay-report epochs=\(epochs) lr=\(lr) weight_decay=\(lambda) "
              + "adam_l2_accuracy=\(format((adamL2?.accuracy ?? .nan) * 100, 2)) "
              + "adamw_accuracy=\(format((adamW?.accuracy ?? .nan) * 100, 2)) " + Self.shrinkFields(last))
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
