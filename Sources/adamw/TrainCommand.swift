import ArgumentParser
import Checkpoints
import CommandSupport
import DataParallel
import Datasets
import Experiments
import Foundation
import NN
import Optim
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier on MNIST (default: the seeds' example, Linear(784, 10) with AdamW).",
        discussion: """
            Prints `Epoch k, Loss: …` (the mean training loss of the epoch) and `Test Accuracy: …%` after each \
            epoch, as the seeds' program does, and a `summary` line with the timings. Runs offline on the copy of MNIST in Data/mnist. \
            With --save it writes a checkpoint after every epoch; --resume continues one, with its options, to \
            --epochs.
            """
    )

    @Option(help: "The model: linear (Linear(784, 10)) or mlp (hidden layers with ReLU).")
    var model: TrainingOptions.Model?

    @Option(parsing: .unconditional, help: "Hidden layer sizes of the mlp, comma-separated (default 128).")
    var hidden: String?

    @Option(help: "The optimizer: \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ")) (default adamw).")
    var optimizer: OptimizerKind?

    @OptionGroup(title: "Optimizer options (each applies to the optimizers that have it)")
    var optimizerFlags: OptimizerFlags

    @Flag(help: "No weight decay on biases and normalization weights (parameters with fewer than 2 dimensions).")
    var noDecayBiasNorm = false

    @Option(parsing: .unconditional, help: "Train until this many epochs are complete (default 5; with --resume, the end of the saved cosine or onecycle schedule).")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Samples per micro-batch (default 64).")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Micro-batches per optimizer step: the step equals one on a batch this many times larger.")
    var accumulate: Int?

    @Option(parsing: .unconditional, help: "Train on the first this many training samples only (default: all).")
    var trainSamples: Int?

    @Option(parsing: .unconditional, help: "Seed of initialization, dropout and shuffling (default 0).")
    var seed: UInt64?

    @Option(help: "Learning-rate schedule: none, plateau (on the test loss), cosine, warmup-cosine or onecycle.")
    var scheduler: TrainingOptions.Schedule?

    @Option(parsing: .unconditional, help: "Epochs the cosine, warmup-cosine or onecycle schedule spans (default: --epochs).")
    var scheduleEpochs: Int?

    @Option(parsing: .unconditional, help: "Lowest learning rate of cosine, warmup-cosine and plateau (default 0).")
    var minLR: Double?

    @Option(parsing: .unconditional, help: "Fraction of onecycle spent warming up (default 0.3).")
    var pctStart: Double?

    @Option(parsing: .unconditional, help: "plateau: factor applied to the learning rate (default 0.1).")
    var plateauFactor: Double?

    @Option(parsing: .unconditional, help: "plateau: epochs without improvement before reducing (default 10).")
    var plateauPatience: Int?

    @Option(help: "Steps whose gradients hold NaN or infinity: skip (default), propagate (PyTorch) or throw.")
    var nonFinite: NonFiniteGradientPolicy?

    @Option(parsing: .unconditional, help: "Clip the gradients' total 2-norm to this before each step.")
    var clipNorm: Double?

    @Option(help: "Directory of the MNIST files (default: the repository's Data/mnist).")
    var dataDir: String?

    @OptionGroup var control: RunControlOptions<EpochUnit>

    /// The flags that are not options of the run: where it reads and writes, how long, how it shows progress.
    private static let runControls: Set<String> = ["epochs", "dataDir"]

    /// The training options given on the command line, as flags (to refuse them with --resume), and their
    /// property names; read from the properties themselves, so a new option needs no list of its own.
    private var givenTrainingOptions: [(flag: String, property: String)] {
        RunFlags.given(in: self, runControls: Self.runControls, resuming: control.resume != nil)
    }

    /// `scheduleEpochs` → `--schedule-epochs`, `minLR` → `--min-lr`, as ArgumentParser names them.
    static func flag(ofProperty label: String) -> String {
        var flag = "--"
        var previousWasUpper = false
        for character in label {
            if character.isUppercase {
                if !previousWasUpper { flag += "-" }
                flag += character.lowercased()
                previousWasUpper = true
            } else {
                flag.append(character)
                previousWasUpper = false
            }
        }
        return flag
    }

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if control.resume != nil {
            if let first = givenTrainingOptions.first?.flag {
                throw ValidationError("\(first) cannot be given with --resume: the run continues with the options saved in the checkpoint")
            }
            return
        }
        _ = try trainingOptions()
    }

    /// The options of a new run, from the flags and their defaults. An option that the chosen model, optimizer or
    /// schedule would not read is refused rather than silently ignored.
    func trainingOptions() throws -> TrainingOptions {
        var options = TrainingOptions()
        options.model = model ?? .linear
        let kind = optimizer ?? .adamw
        options.scheduler = scheduler ?? .none
        // Which model and schedule read which option is stated once, by each choice (`reads`).
        for (flag, property) in givenTrainingOptions {
            let scopes: [(name: String, owners: [String], applies: Bool)] = [
                ("--model", TrainingOptions.Model.allCases.filter { $0.reads.contains(property) }.map(\.rawValue),
                 options.model.reads.contains(property)),
                ("--scheduler", TrainingOptions.Schedule.allCases.filter { $0.reads.contains(property) }.map(\.rawValue),
                 options.scheduler.reads.contains(property)),
            ]
            for scope in scopes where !scope.owners.isEmpty && !scope.applies {
                throw ValidationError("\(flag) applies only to \(scope.name) \(listed(scope.owners))")
            }
        }
        // --warmup-steps is the optimizer's own with Schedule-Free, warmup-cosine's otherwise.
        var flags = optimizerFlags
        var scheduleWarmup: Int?
        if kind.option(named: "warmup_steps") == nil, let steps = flags.warmupSteps {
            guard options.scheduler == .warmupCosine else {
                let owners = OptimizerKind.allCases.filter { $0.option(named: "warmup_steps") != nil }.map(\.rawValue)
                throw ValidationError("--warmup-steps applies only to --scheduler warmup-cosine or --optimizer \(listed(owners))")
            }
            scheduleWarmup = steps
            flags.warmupSteps = nil
        }
        options.optimizer = try flags.choice(for: kind)
        if options.model == .mlp { options.hidden = try parseHidden(hidden ?? "128") }
        options.training.decay = noDecayBiasNorm ? .exceptBiasesAndNorms : .all
        options.batchSize = batchSize ?? options.batchSize
        options.accumulate = accumulate ?? ParallelLaunch.defaultAccumulate
        options.trainSamples = trainSamples
        options.seed = seed ?? 0
        // Only a schedule that spans a fixed number of epochs keeps one, so that runs differing only in --epochs
        // (two straight, or one and a resume) save the same options.
        if options.scheduler.spansEpochs { options.scheduleEpochs = scheduleEpochs ?? epochs ?? Self.defaultEpochs }
        options.minLR = minLR ?? 0
        options.warmupSteps = scheduleWarmup
        options.pctStart = pctStart ?? options.pctStart
        options.plateauFactor = plateauFactor ?? options.plateauFactor
        options.plateauPatience = plateauPatience ?? options.plateauPatience
        options.nonFinite = nonFinite ?? .skip
        options.clipNorm = clipNorm
        try Self.check(options)
        try Self.checkOneCycleLength(options, epochs: epochs ?? Self.defaultEpochs)
        return options
    }

    /// Every value of a run's options, each named by its flag with its range: the options the flags make, and
    /// the options a checkpoint holds on --resume, pass the same checks.
    static func check(_ options: TrainingOptions) throws {
        let counts: [(String, Int?, Int)] = [
            ("--batch-size", options.batchSize, 1), ("--accumulate", options.accumulate, 1),
            ("--train-samples", options.trainSamples, 1), ("--warmup-steps", options.warmupSteps, 1),
            ("--schedule-epochs", options.scheduler.spansEpochs ? options.scheduleEpochs : nil, 1),
            ("--validation-samples", options.validationSamples, 1),
        ]
        for case let (flag, value?, least) in counts where value < least {
            throw ValidationError("\(flag) must be at least \(least), got \(value)")
        }
        if options.scheduler.spansEpochs && options.scheduleEpochs > 1_000_000 {
            throw ValidationError("--schedule-epochs must be at most 1000000, got \(options.scheduleEpochs)")
        }
        if options.model == .mlp {
            let text = options.hidden.map(String.init).joined(separator: ",")
            _ = try parseHidden(options.hidden.isEmpty ? "0" : text)
        } else if !options.hidden.isEmpty {
            throw ValidationError("--hidden applies only to --model mlp")
        }
        // A batch's activations, their gradients and the batch itself: the batch is at most the training set.
        let rows = min(options.batchSize, options.trainSamples ?? 60_000, 60_000)
        let widths = MNIST.pixels + options.hidden.reduce(0) { $0 &+ max($1, 0) } + MNIST.classes
        try MemoryLimit.require("--batch-size", String(options.batchSize), needs: MemoryLimit.product([rows, widths, 4 * 4]),
                                for: "a batch's activations and their gradients")
        if let clipNorm = options.clipNorm, !(clipNorm.isFinite && clipNorm > 0 && Float(clipNorm).isFinite) {
            throw ValidationError("--clip-norm must be a positive number, got \(clipNorm)")
        }
        try checkScheduleRanges(options)
        do {
            try options.checkScheduleFitsOptimizer()
        } catch .invalidArgument(let name, let value, let reason) {
            throw ValidationError("\(name) \(value) \(reason)")
        } catch {
            throw ValidationError("\(error)")
        }
    }

    static let defaultEpochs = 5

    /// The schedule's numbers, each named by its flag with its range (checked again on --resume, on the options
    /// the checkpoint holds).
    static func checkScheduleRanges(_ options: TrainingOptions) throws {
        let lr = options.optimizer.lr
        let checks: [(String, Double, Bool, String)] = [
            ("--pct-start", options.pctStart, (0..<1).contains(options.pctStart), "in [0, 1) (1 leaves no steps to anneal)"),
            ("--plateau-factor", options.plateauFactor, (0..<1).contains(options.plateauFactor), "in [0, 1)"),
            ("--plateau-patience", Double(options.plateauPatience), options.plateauPatience >= 0, "0 or more"),
            ("--min-lr", options.minLR, options.minLR.isFinite && options.minLR >= 0 && Float(options.minLR).isFinite,
             "a finite number >= 0 within Float's range"),
            ("--min-lr", options.minLR, ![.cosine, .warmupCosine].contains(options.scheduler) || options.minLR <= lr,
             "at most --lr (\(lr)): the schedule decays from lr to min-lr"),
        ]
        if let (flag, value, _, range) = checks.first(where: { !$0.2 }) {
            throw ValidationError("\(flag) must be \(range), got \(value)")
        }
    }

    /// onecycle's schedule ends after --schedule-epochs: training past it would fail in the middle of an epoch.
    static func checkOneCycleLength(_ options: TrainingOptions, epochs: Int) throws {
        if options.scheduler == .onecycle && epochs > options.scheduleEpochs {
            throw ValidationError("--epochs \(epochs) goes past the onecycle schedule of \(options.scheduleEpochs) "
                                  + "epochs (--schedule-epochs)")
        }
    }

    func run() throws {
        try ParallelLaunch.run(threads: control.threads, timeout: control.peerTimeout) { communicator in try train(communicator) }
    }

    private func train(_ communicator: (any Communicator)?) throws {
        // In a data-parallel run every rank trains; rank 0 alone writes files (every rank takes part in
        // gathering a checkpoint's optimizer state).
        let writes = (communicator?.rank ?? 0) == 0
        var checkpoint: StateDict?
        var options: TrainingOptions
        if let resume = control.resume {
            checkpoint = try RunFlags.readCheckpoint(resume, flag: "--resume")
            let saved: TrainingOptions?
            do {
                saved = try checkpoint?.metadata["options"].flatMap(TrainingOptions.decodeSaved)
            } catch {
                throw Refusal("--resume \(resume): the saved options are invalid: \(OptimizerFlags.validationError(error))")
            }
            guard let saved else { throw Refusal("--resume \(resume): the checkpoint has no readable training options") }
            // A file's values pass the checks the flags pass (a crafted checkpoint with a valid checksum can hold
            // any number).
            do {
                try Self.check(saved)
            } catch {
                throw Refusal("--resume \(resume): the saved options are invalid: \(error)")
            }
            options = saved
            try RunFlags.resumedStates(optimizerFlags.states, into: &options.optimizer)
        } else {
            options = try trainingOptions()
        }
        // A resumed run whose schedule spans a number of epochs continues to its end unless told otherwise.
        let continuesSchedule = control.resume != nil && options.scheduler.spansEpochs
        let epochs = epochs ?? (continuesSchedule ? options.scheduleEpochs : Self.defaultEpochs)
        if control.resume != nil { try Self.checkOneCycleLength(options, epochs: epochs) }
        // Before any work: what the run writes is neither what it reads nor unwritable.
        let savePath = try RunFlags.checkOutputs(save: control.save, resume: control.resume, metricsOut: control.metricsOut,
                                                 inputs: MNIST.files(in: dataDir).map { ("--data-dir", $0) }, writes: writes)
        let loadStart = monotonicSeconds()
        let data: (train: MNIST, test: MNIST)
        do {
            data = try MNIST.load(directory: dataDir)
        } catch {
            throw Refusal("\(error)")  // bad data is not a usage error: status 1, no usage text
        }
        let loadSeconds = monotonicSeconds() - loadStart

        let run: TrainingRun
        do {
            run = try TrainingRun(options: options, train: data.train, test: data.test, communicator: communicator)
        } catch let error as ExperimentError {
            throw Refusal("\(error)")
        }
        if let checkpoint, let resume = control.resume {
            do {
                try run.load(checkpoint)
            } catch {
                throw Refusal("\(resume): \(error)")
            }
            print("Resumed from \(resume) at epoch \(run.epoch)")
        }
        try RunFlags.requireAgreement([("--epochs", epochs)], iteration: run.epoch, weights: run.model.parameters(),
                                      save: savePath, metricsOut: control.metricsOut, communicator: communicator)
        let metrics = try control.metricsOut.flatMap { writes ? try MetricsLog(path: $0, continuingAt: control.resume != nil ? run.epoch : 0) : nil }
        var saved = control.resume != nil ? run.epoch : nil
        while run.epoch < epochs {
            var bar = ProgressBar(total: run.batchesPerEpoch, label: "Epoch \(run.epoch + 1)/\(epochs)",
                                  enabled: !control.noProgress && writes)
            let result = try run.runEpoch { done, _, loss in
                bar.update(done: done, detail: "loss \(format(loss, 4))")
            }
            bar.finish()
            // The seeds' program tests inside its epoch loop: the loss, then the test accuracy, after every epoch.
            print("Epoch \(result.epoch), Loss: \(format(result.trainLoss, 4))")
            print("Test Accuracy: \(format(result.testAccuracy * 100, 2))%")
            try metrics?.append(result)
            // A diverged run stops at once: training on would only overwrite the last good checkpoint with
            // weights that are not numbers.
            guard result.trainLoss.isFinite, result.testLoss.isFinite else {
                if run.optimizer.skippedSteps > 0 {
                    print("Skipped steps (non-finite gradients): \(run.optimizer.skippedSteps)")
                }
                throw RunFlags.diverged(at: "epoch \(result.epoch)", loss: result.trainLoss.isFinite ? result.testLoss : result.trainLoss,
                                        checkpoint: savePath, saved: saved.map { "epoch \($0)" })
            }
            if let savePath {
                try RunFlags.saveCheckpoint(try run.stateDict(), to: savePath, writes: writes)
                saved = result.epoch
            }
        }
        guard let last = run.last else {
            print("The checkpoint is already at epoch \(run.epoch); nothing to train for --epochs \(epochs)")
            return
        }
        if run.optimizer.skippedSteps > 0 {
            print("Skipped steps (non-finite gradients): \(run.optimizer.skippedSteps)")
        }
        print("summary job=train model=\(options.model.rawValue) epochs=\(run.epoch) "
              + "accuracy=\(format(last.testAccuracy * 100, 2)) load_s=\(format(loadSeconds, 2)) "
              + "train_s=\(format(run.trainSeconds, 2)) eval_s=\(format(run.evalSeconds, 2))")
        // A run that diverged or never stepped is a failure, whatever the non-finite policy: no exit 0 with a
        // meaningless accuracy.
        if run.steps > 0 && run.optimizer.skippedSteps >= run.steps {
            throw Refusal("every one of the \(run.steps) steps was skipped for non-finite gradients: nothing was "
                          + "trained (lower --lr, or --clip-norm)")
        }
        if !last.trainLoss.isFinite || !last.testLoss.isFinite {
            throw Refusal("the run diverged: the loss is \(last.trainLoss.isFinite ? last.testLoss : last.trainLoss) "
                          + "at epoch \(last.epoch) (lower --lr, or --clip-norm)")
        }
    }
}

extension TrainingOptions.Model: ExpressibleByArgument {}
extension TrainingOptions.Schedule: ExpressibleByArgument {}
extension NonFiniteGradientPolicy: ExpressibleByArgument {}

/// A parsed option or flag that can say whether the command line gave it.
protocol GivenValue { var isGiven: Bool { get } }

/// An `Optional` seen through `Any`.
protocol OptionalValue { var isNone: Bool { get } }
extension Optional: OptionalValue { var isNone: Bool { self == nil } }

extension Option: GivenValue { var isGiven: Bool { (wrappedValue as? OptionalValue)?.isNone == false } }
extension Flag: GivenValue where Value == Bool { var isGiven: Bool { wrappedValue } }

/// `adamw train`'s run is measured in epochs.
enum EpochUnit: RunUnit {
    static let saveMoment = "after every epoch"
    static let resumeUntil = "with its options, to --epochs"
    static let record = "epoch"
    static let checkpointNote = ""
}
