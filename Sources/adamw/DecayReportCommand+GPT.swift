import CommandSupport
import Experiments
import Foundation
import Kernels
import Training

extension DecayReportCommand {
    /// `--task gpt`: the recipe as Adam with L2 and as AdamW, the report by kind of parameter.
    func runGPT() throws {
        let iterations = task.iterations(default: 500), interval = task.interval(default: 500)
        let output = try common.outputDirectory(default: "results/decay-report-gpt", files: Self.files, task: task)
        let data = try task.data()
        var recipe = GPTRecipe(optimizer: .adamw, given: ["lr": String(lr), "weight_decay": String(lambda)])
        recipe.decayAll = decayAll
        recipe.seed = common.seed
        let start = monotonicSeconds()
        let experiment = GPTExperiment(data: data, iterations: iterations, evalInterval: interval,
                                       finished: TaskOptions.finished(enabled: !common.noProgress, total: 2))
        let (rows, results) = try DecayReport.run(experiment, settings: recipe, runner: try common.runner())
        let seconds = monotonicSeconds() - start

        let table = Self.decileTable(rows, step: "iteration", group: "kind")
        var training = CSVTable(header: ["optimizer", "iteration", "train_loss", "selection_loss"])
        for name in ["Adam+L2", "AdamW"] {
            for point in results[name]?.curve ?? [] {
                training.append([name, "\(point.step)", "\(point.trainLoss)", "\(point.evaluationLoss)"])
            }
        }
        let last = rows.filter { $0.epoch == iterations }
        let kinds = GPTExperiment.kinds.filter { kind in last.contains { $0.parameter == kind } }
        print("Per-step shrink of each decayed weight after \(iterations) iterations of the GPT (lr \(lr), λ \(lambda)"
              + (decayAll ? ", every parameter decayed" : ", biases and LayerNorm weights not decayed") + "),")
        print("by kind of parameter and decile of the weight's gradient magnitude √v̂ (1 = smallest).")
        Self.printDeciles(last, parameters: kinds)
        print("")
        let adamL2 = results["Adam+L2"], adamW = results["AdamW"]
        print("Held-out validation loss: Adam+L2 \(format(adamL2?.heldOutLoss ?? .nan, 4)), "
              + "AdamW \(format(adamW?.heldOutLoss ?? .nan, 4)) (\(format(seconds, 1)) s)")
        let csv = try output.write(table.rendered, to: "decay-report.csv")
        let trainingCSV = try output.write(training.rendered, to: "decay-report-training.csv")
        let svg = try output.write(Self.figure(last, parameters: kinds, lr: lr, weightDecay: lambda,
                                               after: "\(iterations) GPT iterations"), to: "decay-report.svg")
        print("Wrote \(csv), \(trainingCSV) and \(svg)")
        print("summary job=decay-report task=gpt iters=\(iterations) lr=\(lr) weight_decay=\(lambda) decay_all=\(decayAll) "
              + "adam_l2_heldout_loss=\(format(adamL2?.heldOutLoss ?? .nan, 4)) "
              + "adamw_heldout_loss=\(format(adamW?.heldOutLoss ?? .nan, 4)) "
              + Self.shrinkFields(last) + " seconds=\(format(seconds, 1))")
    }
}
