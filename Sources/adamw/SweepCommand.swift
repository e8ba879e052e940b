import ArgumentParser
import Charts
import CommandSupport
import Experiments
import Foundation
import Kernels
import Optim
import Training

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Test error over a grid of learning rates × weight decays, for Adam with L2 and/or AdamW.",
        discussion: """
            One short training per cell (log-spaced lr and λ), the test error of each, as in Figure 2 of \
            Loshchilov & Hutter. With --decay-convention schedule, AdamW decays by (lr/initial lr)·λ: the decay \
            follows the schedule but not the base learning rate, which is where the paper finds the good λ least \
            tied to lr. Prints each grid and how the best λ moves with lr, and writes sweep.csv and sweep.svg \
            (heatmaps side by side when both optimizers run) to --out. With --task gpt each cell trains nanoGPT's \
            recipe for --iters and the grids hold the held-out half of the validation split's loss.
            """
    )

    @OptionGroup var common: ExperimentOptions

    @OptionGroup var task: TaskOptions

    @Option(help: "Optimizers to sweep, comma-separated: adam (coupled L2), adamw, adamw-schedulefree (default adam,adamw).")
    var optimizer = "adam,adamw"

    @Option(help: "AdamW's decay: lr (PyTorch, θ·(1 − lr·λ), the default) or schedule (θ·(1 − lr/initial lr·λ)).")
    var decayConvention: WeightDecayConvention?

    /// AdamW's convention: the one given, or PyTorch's.
    var convention: WeightDecayConvention { decayConvention ?? .learningRateScaled }

    @Option(name: .customLong("grid"), help: "Grid size: learning rates x weight decays, such as 6x6 (default 6x6; GPT 4x4).")
    var gridGiven: String?

    var grid: String { gridGiven ?? (task.isGPT ? "4x4" : "6x6") }

    @Option(name: .customLong("lr-range"), parsing: .unconditional, help: "Lowest and highest learning rate, comma-separated (default 3e-4,3e-2; GPT 3e-4,1e-2).")
    var lrRangeGiven: String?

    var lrRange: String { lrRangeGiven ?? (task.isGPT ? "3e-4,1e-2" : "3e-4,3e-2") }

    @Option(parsing: .unconditional, help: "Lowest and highest λ for every optimizer (default: adam 1e-6,1e-1; adamw 1e-4,10; adamw with the schedule convention 1e-7,1e-2; GPT: adam 1e-5,1e-1, adamw 1e-2,10, schedule 1e-5,3e-2).")
    var wdRange: String?

    @Option(name: .customLong("hidden"), help: "MNIST: hidden layer sizes of the MLP, comma-separated (default 128).")
    var hiddenGiven: String?

    var hidden: String { hiddenGiven ?? "128" }

    @Option(name: .customLong("scheduler"), help: "MNIST: learning-rate schedule of every cell: none, cosine, warmup-cosine, onecycle or plateau (default cosine).")
    var schedulerGiven: TrainingOptions.Schedule?

    var scheduler: TrainingOptions.Schedule { schedulerGiven ?? .cosine }

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "MNIST: samples per batch (default 64).")
    var batchSizeGiven: Int?

    var batchSize: Int { batchSizeGiven ?? 64 }

    @Option(parsing: .unconditional, help: "MNIST: train on the first this many training samples only (default: all).")
    var trainSamples: Int?

    static let defaultEpochs = 3

    /// The files the command writes in --out.
    static let files = ["sweep.csv", "sweep.svg"]

    /// The optimizers named by --optimizer, in order, without repeats.
    func optimizers() throws -> [OptimizerKind] {
        var kinds: [OptimizerKind] = []
        for name in optimizer.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let kind = OptimizerKind(rawValue: trimmed), [.adam, .adamw, .adamwScheduleFree].contains(kind) else {
                throw ValidationError("--optimizer must list adam, adamw or adamw-schedulefree, comma-separated, got '\(optimizer)'")
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }

    func gridSize() throws -> (learningRates: Int, weightDecays: Int) {
        let parts = grid.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let rows = parts[0], let columns = parts[1], (1...10_000).contains(rows),
              (1...10_000).contains(columns), rows * columns <= 10_000 else {
            throw ValidationError("--grid must be two positive counts such as 6x6 (at most 10000 cells), got '\(grid)'")
        }
        return (rows, columns)
    }

    /// The λ range of `kind`: --wd-range, or the default for its decay convention.
    func weightDecayRange(_ kind: OptimizerKind) throws -> (Double, Double) {
        if let wdRange {
            let values = try parseNumbers(wdRange, option: "--wd-range", atLeast: 2)
            guard values.count == 2 else { throw ValidationError("--wd-range must be two numbers, got '\(wdRange)'") }
            return (values[0], values[1])
        }
        switch (kind, convention, task.isGPT) {
        case (.adamw, .learningRateScaled, false): return (1e-4, 10)
        case (.adamw, .scheduleScaled, false): return (1e-7, 1e-2)
        case (.adamw, .learningRateScaled, true): return (1e-2, 10)
        case (.adamw, .scheduleScaled, true): return (1e-5, 3e-2)
        // Schedule-Free's λ multiplies lr as AdamW's does (ĝ + λ·y, stepped by lr).
        case (.adamwScheduleFree, _, false): return (1e-4, 10)
        case (.adamwScheduleFree, _, true): return (1e-2, 10)
        case (_, _, true): return (1e-5, 1e-1)
        default: return (1e-6, 1e-1)
        }
    }

    func learningRates() throws -> [Double] {
        let range = try parseNumbers(lrRange, option: "--lr-range", atLeast: 2)
        guard range.count == 2 else { throw ValidationError("--lr-range must be two numbers, got '\(lrRange)'") }
        do {
            return try Sweep.logSpaced(range[0], range[1], count: try gridSize().learningRates, name: "--lr-range")
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func weightDecays(_ kind: OptimizerKind) throws -> [Double] {
        let (low, high) = try weightDecayRange(kind)
        do {
            return try Sweep.logSpaced(low, high, count: try gridSize().weightDecays, name: "--wd-range")
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func validate() throws {
        try task.check(common, mnistOnly: [("--hidden", hiddenGiven != nil), ("--scheduler", schedulerGiven != nil), ("--batch-size", batchSizeGiven != nil), ("--train-samples", trainSamples != nil)])
        let kinds = try optimizers()
        _ = try learningRates()
        for kind in kinds { _ = try weightDecays(kind) }
        if decayConvention != nil && !kinds.contains(.adamw) {
            throw ValidationError("--decay-convention applies only to adamw")
        }
        // Schedule-Free replaces the schedule: an MNIST sweep that has it runs every cell without one.
        if !task.isGPT, kinds.contains(.adamwScheduleFree), schedulerGiven.map({ $0 != .none }) == true {
            throw ValidationError("--scheduler \(scheduler.rawValue) cannot be used with --optimizer adamw-schedulefree: "
                                  + "it replaces the schedule by averaging its iterates")
        }
        _ = try parseHidden(hidden)
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let trainSamples, trainSamples < 1 { throw ValidationError("--train-samples must be at least 1, got \(trainSamples)") }
    }

    /// How `kind` decays, for the CSV and summaries: l2 (Adam's, in the gradient), AdamW's convention, or
    /// schedulefree (λ·y added to the normalized gradient).
    func decayConvention(of kind: OptimizerKind) -> String {
        switch kind {
        case .adamw: convention.rawValue
        case .adamwScheduleFree: "schedulefree"
        default: "l2"
        }
    }

    /// A display name: Adam+L2, AdamW, or AdamW (schedule) for the schedule convention, Schedule-Free AdamW.
    func name(_ kind: OptimizerKind) -> String {
        kind == .adam ? "Adam+L2" : kind == .adamwScheduleFree ? "Schedule-Free AdamW"
            : convention == .scheduleScaled ? "AdamW (schedule)" : "AdamW"
    }

    /// How a task's sweep is printed: what its cells hold and how its lines say it.
    struct View {
        /// A grid's title for an optimizer's display name.
        let gridTitle: (String) -> String
        let gridDigits: Int
        /// sweep.csv's names for a cell's reported figure, evaluation loss and train loss.
        let lossColumns: [String]
        /// The summary lines' task and run-length fields (" task=gpt", " iters=1000"; empty for MNIST).
        let taskField: String, lengthField: String
        /// The summary's name and digits for the best cell's figure.
        let bestKey: String, bestDigits: Int
        let figureTitle: String
    }

    func run() throws {
        if task.isGPT {
            let iterations = task.iterations(default: 1000), interval = task.interval(default: 1000)
            let output = try common.outputDirectory(default: "results/sweep-gpt", files: Self.files, task: task)
            let data = try task.data()
            let optimizers = try optimizers().map { kind in
                var recipe = try GPTRecipe(optimizer: kind, given: kind == .adamw ? ["decay_convention": convention.rawValue] : [:])
                recipe.seed = common.seed
                return (name: name(kind), settings: recipe, weightDecays: try weightDecays(kind))
            }
            let cells = try learningRates().count * optimizers.reduce(0) { $0 + $1.weightDecays.count }
            let experiment = GPTExperiment(data: data, iterations: iterations, evalInterval: interval,
                                           finished: TaskOptions.finished(enabled: !common.noProgress, total: cells))
            let view = View(
                gridTitle: { "\($0): held-out validation loss after \(iterations) iterations" }, gridDigits: 3,
                lossColumns: ["heldout_loss", "selection_loss", "train_loss"], taskField: " task=gpt",
                lengthField: " iters=\(iterations)", bestKey: "best_heldout_loss", bestDigits: 4,
                figureTitle: "GPT: held-out validation loss after \(iterations) iterations over learning rate × weight decay")
            return try sweep(experiment, optimizers: optimizers, output: output, view: view) {}
        }
        let epochs = common.epochs ?? Self.defaultEpochs
        let output = try common.outputDirectory(default: "results/sweep", files: Self.files, task: task)
        let data = try common.data()
        var base = try common.mlpOptions(hidden: hidden, batchSize: batchSize)
        base.scheduler = scheduler
        base.scheduleEpochs = epochs
        base.trainSamples = trainSamples
        let optimizers = try optimizers().map { kind in
            var options = base
            options.optimizer = try OptimizerChoice(kind, settings: kind == .adamw ? ["decay_convention": convention.rawValue] : [:])
            if kind.replacesSchedule { options.scheduler = .none }
            return (name: name(kind), settings: options, weightDecays: try weightDecays(kind))
        }
        let cells = try learningRates().count * optimizers.reduce(0) { $0 + $1.weightDecays.count }
        let progress = RunsProgress(label: "sweep", runs: cells, epochsPerRun: epochs, enabled: !common.noProgress)
        let experiment = MNISTExperiment(train: data.train, test: data.test, epochs: epochs, progress: progress.callback)
        let view = View(
            gridTitle: { "\($0): test error % after \(epochs) epochs" }, gridDigits: 2,
            lossColumns: ["test_error", "test_loss", "train_loss"], taskField: "", lengthField: "",
            bestKey: "best_error", bestDigits: 2,
            figureTitle: "Test error (%) after \(epochs) epochs over learning rate × weight decay")
        try sweep(experiment, optimizers: optimizers, output: output, view: view) { progress.finish() }
    }

    /// The sweep of `optimizers` (display name, settings, λ grid) on `task`, printed and written as `view` says;
    /// `trained` is called when every cell has trained.
    func sweep<Task: ExperimentTask>(
        _ task: Task, optimizers: [(name: String, settings: Task.Settings, weightDecays: [Double])],
        output: OutputDirectory, view: View, trained: () -> Void
    ) throws {
        let learningRates = try learningRates()
        let kinds = try self.optimizers()
        let cellCount = optimizers.reduce(0) { $0 + $1.weightDecays.count * learningRates.count }
        let runner = try common.runner()
        let start = monotonicSeconds()
        let cells = try Sweep.run(task, optimizers: optimizers, learningRates: learningRates, runner: runner)
        let seconds = monotonicSeconds() - start
        trained()

        let table = csvTable(cells, lossColumns: view.lossColumns)
        var summaries: [String] = []
        for (optimizer, kind) in zip(optimizers, kinds) {
            let own = cells.filter { $0.optimizer == optimizer.name }
            let (best, trend) = Self.printGrid(own, title: view.gridTitle(optimizer.name), learningRates: learningRates,
                                               weightDecays: optimizer.weightDecays, digits: view.gridDigits)
            let key = kind.rawValue
            summaries.append("summary job=sweep\(view.taskField) optimizer=\(key) decay_convention=\(decayConvention(of: kind)) "
                             + "cells=\(own.count)\(view.lengthField) best_lr=\(best?.lr ?? .nan) best_wd=\(best?.weightDecay ?? .nan) "
                             + "\(view.bestKey)=\(format(best?.reported ?? .nan, view.bestDigits)) "
                             + "best_wd_slope=\(trend.map { format($0.slope, 2) } ?? "nan")")
        }
        let csv = try output.write(table.rendered, to: "sweep.csv")
        let svg = try output.write(Self.figure(cells, optimizers: optimizers.map { ($0.name, $0.weightDecays) },
                                               learningRates: learningRates, title: view.figureTitle),
                                   to: "sweep.svg")
        print("Wrote \(csv) and \(svg) (\(cellCount) cells in \(format(seconds, 1)) s, \(runner.jobs) at a time)")
        for line in summaries { print(line) }
    }

    /// One heatmap per optimizer, side by side, on one colour scale: λ across, lr up, the best cell outlined.
    /// One optimizer's grid (rows lr, highest first; columns λ), its best cell and how its best λ moves with lr.
    /// sweep.csv: a row a cell, its three measures (`Sweep.Cell`'s reported, testLoss, trainLoss) under
    /// `lossColumns`.
    func csvTable(_ cells: [Sweep.Cell], lossColumns: [String]) -> CSVTable {
        var table = CSVTable(header: ["optimizer", "decay_convention", "lr", "weight_decay"] + lossColumns)
        for cell in cells {
            let kind = (try? optimizers())?.first { name($0) == cell.optimizer }
            let cellConvention = kind.map(decayConvention(of:)) ?? "l2"
            table.append([cell.optimizer, cellConvention, "\(cell.lr)", "\(cell.weightDecay)", "\(cell.reported)",
                          "\(cell.evaluationLoss)", "\(cell.trainLoss)"])
        }
        return table
    }

    static func printGrid(_ own: [Sweep.Cell], title: String, learningRates: [Double], weightDecays: [Double],
                          digits: Int) -> (best: Sweep.Cell?, trend: (best: [(lr: Double, weightDecay: Double)], slope: Double)?) {
        print("\(title) (rows: lr, columns: λ)")
        let widths = Array(repeating: 7, count: weightDecays.count + 1)
        print(tableRow(["lr \\ λ"] + weightDecays.map(shortNumber), widths: widths))
        for lr in learningRates.reversed() {
            let values = weightDecays.map { wd in own.first { $0.lr == lr && $0.weightDecay == wd } }
            print(tableRow([shortNumber(lr)] + values.map { $0.map { format($0.reported, digits) } ?? "–" }, widths: widths))
        }
        let best = own.filter { $0.reported.isFinite }.min { $0.reported < $1.reported }
        let trend = Sweep.bestWeightDecaySlope(own)
        if let trend {
            let moves = trend.best.map { "\(shortNumber($0.lr))→\(shortNumber($0.weightDecay))" }
            print("best λ per lr: " + moves.joined(separator: ", ") + "; slope of log λ* on log lr: \(format(trend.slope, 2))")
        }
        print("")
        return (best, trend)
    }

    static func figure(_ cells: [Sweep.Cell], optimizers: [(String, [Double])], learningRates: [Double],
                       title: String) -> String {
        // One colour scale for all panels; errors are positive, and a log scale keeps the good cells apart.
        let errors = cells.map(\.reported).filter { $0.isFinite && $0 > 0 }
        let low = errors.min() ?? 1
        let range = low...max(errors.max() ?? low, low * (1 + 1e-9))
        let panelWidth = 520.0, panelHeight = 500.0
        var canvas = SVGCanvas(width: panelWidth * Double(optimizers.count), height: panelHeight + 44)
        canvas.text(title,
                    x: panelWidth * Double(optimizers.count) / 2, y: 26, size: 16, anchor: .middle, bold: true)
        for (index, (name, weightDecays)) in optimizers.enumerated() {
            let own = cells.filter { $0.optimizer == name }
            let values = learningRates.map { lr in
                weightDecays.map { wd in own.first { $0.lr == lr && $0.weightDecay == wd }?.reported ?? .nan }
            }
            let best = own.min { $0.reported < $1.reported }
            let highlighted = best.flatMap { best -> (row: Int, column: Int)? in
                guard let row = learningRates.firstIndex(of: best.lr),
                      let column = weightDecays.firstIndex(of: best.weightDecay) else { return nil }
                return (row, column)
            }
            Heatmap(title: name, columnLabels: weightDecays.map(shortNumber), rowLabels: learningRates.map(shortNumber),
                    xLabel: "weight decay λ", yLabel: "learning rate", values: values, range: range,
                    highlighted: highlighted, colorScale: .logarithmic)
                .draw(in: &canvas, x: panelWidth * Double(index), y: 44, width: panelWidth, height: panelHeight)
        }
        return canvas.rendered()
    }
}
