import ArgumentParser
import Charts
import CommandSupport
import Experiments
import Foundation
import Kernels
import Optim
import Training

/// `adamw tune`: Bayesian optimisation of lr and λ together against random search with the same budget.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune lr and λ together: Bayesian optimisation (a Gaussian process, expected improvement) against random search.",
        discussion: """
            Each trial trains one run and scores its validation loss: on MNIST the split held out of the training \
            set, on the GPT (--task gpt) the selection half of the validation split. Both strategies search log lr \
            × log λ within --lr-range and --wd-range with --trials trials, proposed --batch at a time (the first \
            quarter of Bayesian optimisation's trials, at least 3, is a Latin hypercube). Prints every trial, the \
            best (lr, λ) of each strategy and its result on the held-out data (MNIST: the test set, after \
            training on the whole training set; GPT: the held-out half of the validation split), and writes \
            tune.csv and tune.svg (the best loss so far against the trial count). The same --seed and --batch \
            give the same trials whatever --jobs.
            """
    )

    @OptionGroup var common: ExperimentOptions

    @OptionGroup var task: TaskOptions

    @Option(help: "adam (Adam with L2), adamw or adamw-schedulefree.")
    var optimizer: OptimizerKind = .adamw

    @Option(parsing: .unconditional, help: "Trials of each strategy.")
    var trials = 12

    @Option(parsing: .unconditional, help: "Trials proposed at a time (they train side by side, up to --jobs).")
    var batch = 2

    @Option(parsing: .unconditional, help: "Lowest and highest learning rate, comma-separated (default 1e-4,3e-2; GPT 1e-4,1e-2).")
    var lrRange: String?

    @Option(parsing: .unconditional, help: "Lowest and highest λ, comma-separated (default adamw 1e-4,10, adam 1e-7,1e-1; GPT adamw 1e-3,10, adam 1e-6,1e-1).")
    var wdRange: String?

    @Option(name: .customLong("hidden"), help: "MNIST: hidden layer sizes of the MLP, comma-separated (default 128).")
    var hiddenGiven: String?

    var hidden: String { hiddenGiven ?? "128" }

    @Option(name: .customLong("validation-samples"), parsing: .unconditional, help: "MNIST: training samples held out to score the trials (default 10000).")
    var validationSamplesGiven: Int?

    var validationSamples: Int { validationSamplesGiven ?? 10_000 }

    static let defaultEpochs = 2

    func space() throws -> Tuner.Space {
        func range(_ text: String?, _ fallback: (Double, Double), option: String) throws -> ClosedRange<Double> {
            guard let text else { return fallback.0...fallback.1 }
            let values = try parseNumbers(text, option: option, atLeast: 2)
            guard values.count == 2, values[0] > 0, values[1] > values[0] else {
                throw ValidationError("\(option) must be two numbers 0 < low < high, got '\(text)'")
            }
            return values[0]...values[1]
        }
        let wd: (Double, Double) = switch (optimizer, task.isGPT) {
        case (.adamw, false), (.adamwScheduleFree, false): (1e-4, 10)
        case (.adamw, true), (.adamwScheduleFree, true): (1e-3, 10)
        case (_, false): (1e-7, 1e-1)
        case (_, true): (1e-6, 1e-1)
        }
        return try Tuner.Space(lr: try range(lrRange, task.isGPT ? (1e-4, 1e-2) : (1e-4, 3e-2), option: "--lr-range"),
                               weightDecay: try range(wdRange, wd, option: "--wd-range"))
    }

    func validate() throws {
        try task.check(common, mnistOnly: [("--hidden", hiddenGiven != nil), ("--validation-samples", validationSamplesGiven != nil)])
        guard [.adam, .adamw, .adamwScheduleFree].contains(optimizer) else {
            throw ValidationError("--optimizer must be adam, adamw or adamw-schedulefree, got \(optimizer.rawValue)")
        }
        guard (1...1000).contains(trials) else { throw ValidationError("--trials must be between 1 and 1000, got \(trials)") }
        guard (1...64).contains(batch) else { throw ValidationError("--batch must be between 1 and 64, got \(batch)") }
        guard validationSamples >= 1 else {
            throw ValidationError("--validation-samples must be at least 1, got \(validationSamples)")
        }
        _ = try parseHidden(hidden)
        _ = try space()
    }

    func run() throws {
        let space = try space()
        let runner = try common.runner()
        let output = try common.outputDirectory(default: task.isGPT ? "results/tune-gpt" : "results/tune",
                                                  files: ["tune.csv", "tune.svg"], task: task)
        let start = monotonicSeconds()
        let (objective, heldOut, describe) = try objective()
        var outcomes: [(Tuner.Strategy, [Tuner.Trial])] = []
        for strategy in Tuner.Strategy.allCases {
            let trialList = try Tuner.run(strategy: strategy, trials: trials, batch: batch, seed: common.seed,
                                          space: space, runner: runner, objective: objective)
            outcomes.append((strategy, trialList))
        }
        let seconds = monotonicSeconds() - start

        var table = CSVTable(header: ["strategy", "trial", "lr", "weight_decay", "validation_loss", "best_so_far"])
        var summary = "summary job=tune task=\(task.task.rawValue) optimizer=\(optimizer.rawValue) trials=\(trials)"
        for (strategy, trialList) in outcomes {
            print("\(strategy.rawValue): validation loss of each trial (\(describe))")
            print(tableRow(["trial", "lr", "λ", "validation loss", "best so far"], widths: [6, 10, 10, 16, 12]))
            for trial in trialList {
                print(tableRow(["\(trial.index)", shortNumber(trial.lr), shortNumber(trial.weightDecay),
                                format(trial.value, 4), format(trial.bestSoFar, 4)], widths: [6, 10, 10, 16, 12]))
                table.append([strategy.rawValue, "\(trial.index)", "\(trial.lr)", "\(trial.weightDecay)",
                              "\(trial.value)", "\(trial.bestSoFar)"])
            }
            guard let best = trialList.filter({ $0.value.isFinite }).min(by: { $0.value < $1.value }) else {
                print("no trial of \(strategy.rawValue) trained to a finite loss")
                continue
            }
            let result = try heldOut(best.lr, best.weightDecay)
            print("chosen by \(strategy.rawValue): lr \(shortNumber(best.lr)), λ \(shortNumber(best.weightDecay)) "
                  + "(trial \(best.index)): validation loss \(format(best.value, 4)); \(result.text)")
            print("")
            let key = strategy == .bayesian ? "bayes" : "random"
            summary += " \(key)_lr=\(best.lr) \(key)_wd=\(best.weightDecay) \(key)_validation_loss=\(format(best.value, 4))"
                + " \(key)_heldout_loss=\(format(result.loss, 4))"
        }
        let csv = try output.write(table.rendered, to: "tune.csv")
        let series = outcomes.map { strategy, trialList in
            LineChart.Series(name: strategy == .bayesian ? "Bayesian optimisation (GP, EI)" : "random search",
                             points: trialList.map { (Double($0.index), $0.bestSoFar) })
        }
        let name = optimizer == .adam ? "Adam+L2" : optimizer == .adamwScheduleFree ? "Schedule-Free AdamW" : "AdamW"
        let title = "Best validation loss so far: \(name) on \(task.isGPT ? "the GPT" : "MNIST")"
        let svg = try output.write(LineChart(title: title, xLabel: "trial", yLabel: "validation loss", series: series).svg(),
                                   to: "tune.svg")
        print("Wrote \(csv) and \(svg) (\(2 * trials) trials in \(format(seconds, 1)) s, \(runner.jobs) at a time)")
        print(summary + " seconds=\(format(seconds, 1))")
    }

    /// The trial's objective (the validation loss), the chosen point's held-out result, and a description.
    private func objective() throws -> (@Sendable (Double, Double) throws -> Double,
                                        (Double, Double) throws -> (loss: Double, text: String), String) {
        if task.isGPT {
            let iterations = task.iterations(default: 500), interval = task.interval(default: 500)
            let experiment = GPTExperiment(data: try task.data(), iterations: iterations, evalInterval: interval)
            let kind = optimizer, seed = common.seed
            // Each trial's held-out loss is kept, so the chosen one is reported without training it again.
            let heldOut = Locked([String: Double]())
            let objective: @Sendable (Double, Double) throws -> Double = { lr, weightDecay in
                var recipe = try GPTRecipe(optimizer: kind, given: ["lr": String(lr), "weight_decay": String(weightDecay)])
                recipe.minLR = lr / 10
                recipe.seed = seed
                let record = try experiment.train(recipe, name: "", selecting: true, inspect: nil)
                heldOut.withLock { $0["\(lr) \(weightDecay)"] = record.heldOutLoss }
                return record.evaluationLoss
            }
            let report: (Double, Double) throws -> (loss: Double, text: String) = { lr, weightDecay in
                let loss = heldOut.withLock { $0["\(lr) \(weightDecay)"] } ?? .nan
                return (loss, "held-out loss \(format(loss, 4))")
            }
            return (objective, report, "GPT, \(iterations) iterations, selection half of the validation split")
        }
        let epochs = common.epochs ?? Self.defaultEpochs
        let data = try common.data()
        var options = try common.mlpOptions(hidden: hidden, batchSize: 64)
        options.optimizer = OptimizerChoice(optimizer)
        // Schedule-Free replaces the schedule; the others anneal with a cosine over the run.
        options.scheduler = optimizer.replacesSchedule ? .none : .cosine
        options.scheduleEpochs = epochs
        let base = options
        let validation = validationSamples
        let objective: @Sendable (Double, Double) throws -> Double = { lr, weightDecay in
            var options = base
            options.optimizer = try OptimizerChoice(base.optimizer.kind, settings: ["lr": String(lr), "weight_decay": String(weightDecay)])
            options.validationSamples = validation
            return try TrainingRun(options: options, train: data.train, test: data.test)
                .runEpochs(epochs, reportingAs: "", to: nil).testLoss
        }
        let report: (Double, Double) throws -> (loss: Double, text: String) = { lr, weightDecay in
            var options = base
            options.optimizer = try OptimizerChoice(base.optimizer.kind, settings: ["lr": String(lr), "weight_decay": String(weightDecay)])
            let last = try TrainingRun(options: options, train: data.train, test: data.test)
                .runEpochs(epochs, reportingAs: "", to: nil)
            return (last.testLoss, "trained on the whole training set: test loss \(format(last.testLoss, 4)), "
                    + "test accuracy \(format(last.testAccuracy * 100, 2))%")
        }
        return (objective, report, "MNIST MLP, \(epochs) epochs, \(validationSamples) held-out training samples")
    }
}
