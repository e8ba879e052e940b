import Charts
import CommandSupport
import Experiments
import Foundation
import Kernels
import Optim
import Training

extension CompareCommand {
    /// `--task gpt`: the three optimizers on nanoGPT's recipe, λ chosen on the selection half of the validation
    /// split, the held-out half reported.
    func runGPT() throws {
        let iterations = task.iterations(default: 1000), interval = task.interval(default: 1000)
        let output = try common.outputDirectory(default: "results/compare-gpt", files: Self.files, task: task)
        let data = try task.data()
        let grids = try self.grids.map { option, text in try parseNumbers(text, option: option) }
        func recipe(_ kind: OptimizerKind, lr: Double, extra: [String: String] = [:]) -> GPTRecipe {
            var recipe = GPTRecipe(optimizer: kind, given: ["lr": String(lr)].merging(extra) { $1 })
            recipe.minLR = lr / 10
            recipe.seed = common.seed
            return recipe
        }
        let contenders = [
            Comparison.Contender(name: "Adam+L2", settings: recipe(.adam, lr: adamLR), weightDecays: grids[0]),
            Comparison.Contender(name: "AdamW", settings: recipe(.adamw, lr: adamLR), weightDecays: grids[1]),
            Comparison.Contender(name: "SGD", settings: recipe(.sgd, lr: sgdLR, extra: ["momentum": String(momentum)]),
                                 weightDecays: grids[2]),
        ]
        let seedList = (0..<seeds).map { common.seed &+ UInt64($0) }
        let runCount = contenders.reduce(0) { $0 + $1.weightDecays.count } + contenders.count * seeds
        let start = monotonicSeconds()
        let experiment = GPTExperiment(data: data, iterations: iterations, evalInterval: interval,
                                       finished: TaskOptions.finished(enabled: !common.noProgress, total: runCount))
        let outcome = try Comparison.run(experiment, contenders: contenders, seeds: seedList, runner: try common.runner())
        let seconds = monotonicSeconds() - start

        print("λ chosen by the loss on the selection half of the validation split (seed \(common.seed), \(iterations) iterations):")
        for contender in contenders {
            let own = outcome.selections.filter { $0.contender == contender.name }
            print("  \(contender.name): " + own.map { "λ=\(shortNumber($0.weightDecay)) \(format($0.record.evaluationLoss, 4))" }
                .joined(separator: ", "))
        }
        print("")
        print("After \(iterations) iterations, mean ± std over \(seeds) seed(s); the held-out half was not used to choose:")
        print(tableRow(["optimizer", "λ", "held-out loss", "selection loss", "train loss", "weight norm"], widths: Self.gptWidths))
        for s in outcome.summaries {
            print(tableRow([s.contender, shortNumber(s.weightDecay), Self.text(Self.heldOut(s), 4), Self.text(s.evaluationLoss, 4),
                            Self.text(s.trainLoss, 4), Self.text(s.weightNorm, 2)], widths: Self.gptWidths))
        }
        var runs = CSVTable(header: ["optimizer", "weight_decay", "seed", "iteration", "train_loss", "selection_loss"])
        for run in outcome.runs {
            for point in run.record.curve {
                runs.append([run.contender, "\(run.weightDecay)", "\(run.seed)", "\(point.step)",
                             "\(point.trainLoss)", "\(point.evaluationLoss)"])
            }
        }
        var selection = CSVTable(header: ["optimizer", "weight_decay", "selection_loss"])
        for s in outcome.selections { selection.append([s.contender, "\(s.weightDecay)", "\(s.record.evaluationLoss)"]) }
        var summary = CSVTable(header: ["optimizer", "weight_decay", "seeds", "heldout_loss_mean", "heldout_loss_std",
                                        "selection_loss_mean", "selection_loss_std", "train_loss_mean", "train_loss_std",
                                        "weight_norm_mean", "weight_norm_std"])
        for s in outcome.summaries {
            summary.append([s.contender, "\(s.weightDecay)", "\(s.seeds)"]
                           + [Self.heldOut(s), s.evaluationLoss, s.trainLoss, s.weightNorm].flatMap { ["\($0.mean)", "\($0.deviation)"] })
        }
        let files = [
            try output.write(runs.rendered, to: "compare-runs.csv"),
            try output.write(selection.rendered, to: "compare-selection.csv"),
            try output.write(summary.rendered, to: "compare-summary.csv"),
            try output.write(Self.gptFigure(outcome, contenders: contenders.map(\.name), seeds: seeds), to: "compare.svg"),
        ]
        print("Wrote " + files.joined(separator: ", ") + " (\(runCount) runs in \(format(seconds, 1)) s)")
        let fields = outcome.summaries.map { s in
            let key = s.contender.lowercased().replacingOccurrences(of: "+", with: "_")
            return "\(key)_wd=\(s.weightDecay) \(key)_heldout_loss=\(format(Self.heldOut(s).mean, 4)) "
                + "\(key)_heldout_loss_std=\(format(Self.heldOut(s).deviation, 4))"
        }
        print("summary job=compare task=gpt iters=\(iterations) seeds=\(seeds) train_chars=\(data.corpus.tokens(of: .train).count) "
              + fields.joined(separator: " ") + " seconds=\(format(seconds, 1))")
    }

    static let gptWidths = [9, 6, 18, 18, 18, 14]

    /// A GPT summary's held-out loss (every GPT run has one).
    static func heldOut(_ summary: Comparison.Summary) -> MeanAndDeviation {
        summary.heldOutLoss ?? MeanAndDeviation([.nan])
    }

    /// The train and selection losses along the runs, mean ± std over the seeds.
    static func gptFigure(_ outcome: Comparison.Outcome, contenders: [String], seeds: Int) -> String {
        let metrics: [(String, (RunRecord.Point) -> Double)] = [
            ("Train loss (20 batches)", { $0.trainLoss }), ("Validation loss, selection half (20 batches)", { $0.evaluationLoss }),
        ]
        let panelWidth = 560.0, panelHeight = 400.0
        var canvas = SVGCanvas(width: panelWidth * Double(metrics.count), height: panelHeight + 44)
        canvas.text("GPT: Adam+L2, AdamW and SGD at their best λ, mean ± std over \(seeds) seed(s)",
                    x: panelWidth * Double(metrics.count) / 2, y: 26, size: 16, anchor: .middle, bold: true)
        for (index, (title, metric)) in metrics.enumerated() {
            let series = contenders.map { name in
                let points = Comparison.curve(outcome.runs, contender: name, metric)
                let weightDecay = outcome.summaries.first { $0.contender == name }?.weightDecay ?? .nan
                return LineChart.Series(name: "\(name) λ=\(shortNumber(weightDecay))",
                                        points: points.map { (Double($0.step), $0.value.mean) },
                                        spread: points.map(\.value.deviation))
            }
            LineChart(title: title, xLabel: "iteration", yLabel: "mean cross-entropy", series: series)
                .draw(in: &canvas, x: panelWidth * Double(index), y: 44, width: panelWidth, height: panelHeight)
        }
        return canvas.rendered()
    }
}
