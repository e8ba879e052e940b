import CommandSupport
import Experiments
import Foundation
import Kernels
import Training

extension SweepCommand {
    /// `--task gpt`: every (lr, λ) cell trains nanoGPT's recipe; the grids hold the held-out half's loss.
    func runGPT() throws {
        let iterations = task.iterations(default: 1000), interval = task.interval(default: 1000)
        let output = try common.outputDirectory(default: "results/sweep-gpt", files: Self.files, task: task)
        let data = try task.data()
        let kinds = try optimizers()
        let learningRates = try learningRates()
        let optimizers = try kinds.map { kind in
            var recipe = GPTRecipe(optimizer: kind)
            recipe.seed = common.seed
            if kind == .adamw { recipe.optimizerOptions["decay_convention"] = convention.rawValue }
            return (name: name(kind), settings: recipe, weightDecays: try weightDecays(kind))
        }
        let cellCount = optimizers.reduce(0) { $0 + $1.weightDecays.count * learningRates.count }
        let runner = try common.runner()
        let start = monotonicSeconds()
        let experiment = GPTExperiment(data: data, iterations: iterations, evalInterval: interval,
                                       finished: TaskOptions.finished(enabled: !common.noProgress, total: cellCount))
        let cells = try Sweep.run(experiment, optimizers: optimizers, learningRates: learningRates, runner: runner)
        let seconds = monotonicSeconds() - start
        let table = csvTable(cells, lossColumns: ["heldout_loss", "selection_loss", "train_loss"])
        var summaries: [String] = []
        for optimizer in optimizers {
            let own = cells.filter { $0.optimizer == optimizer.name }
            let (best, trend) = Self.printGrid(own, title: "\(optimizer.name): held-out validation loss after \(iterations) iterations",
                                               learningRates: learningRates, weightDecays: optimizer.weightDecays,
                                               digits: 3)
            let key = optimizer.settings.optimizer.rawValue
            summaries.append("summary job=sweep task=gpt optimizer=\(key) decay_convention=\(key == "adamw" ? convention.rawValue : "l2") "
                             + "cells=\(own.count) iters=\(iterations) best_lr=\(best?.lr ?? .nan) best_wd=\(best?.weightDecay ?? .nan) "
                             + "best_heldout_loss=\(format(best?.reported ?? .nan, 4)) "
                             + "best_wd_slope=\(trend.map { format($0.slope, 2) } ?? "nan")")
        }
        let csv = try output.write(table.rendered, to: "sweep.csv")
        let svg = try output.write(
            Self.figure(cells, optimizers: optimizers.map { ($0.name, $0.weightDecays) }, learningRates: learningRates,
                        title: "GPT: held-out validation loss after \(iterations) iterations over learning rate × weight decay"),
            to: "sweep.svg")
        print("Wrote \(csv) and \(svg) (\(cellCount) cells in \(format(seconds, 1)) s, \(runner.jobs) at a time)")
        for line in summaries { print(line) }
    }
}
