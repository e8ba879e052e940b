import Foundation
import Optim
import Testing

/// Runs the `adamw` executable that `swift test` builds next to the test bundle.
enum CLI {
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("adamw")
    }

    struct Result {
        let status: Int32
        let output: String
        let error: String
        var lines: [String] { output.split(separator: "\n").map(String.init) }
    }

    /// Runs `adamw arguments`, or `launcher adamw arguments` (such as `taskset -c 0`), or another `program`.
    static func run(_ arguments: [String], launcher: [String] = [], program: URL = executable) throws -> Result {
        let process = Process()
        if let launcherProgram = launcher.first {
            process.executableURL = URL(fileURLWithPath: launcherProgram)
            process.arguments = launcher.dropFirst() + [program.path] + arguments
        } else {
            process.executableURL = program
            process.arguments = arguments
        }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      error: String(decoding: errorData, as: UTF8.self))
    }

    /// The key=value pairs of the `summary` line.
    static func summary(_ result: Result) -> [String: String] {
        guard let line = result.lines.last(where: { $0.hasPrefix("summary ") }) else { return [:] }
        return Dictionary(uniqueKeysWithValues: line.split(separator: " ").dropFirst().compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        })
    }
}

struct TrainCommandTests {
    @Test func oneEpochPrintsTheSeedsLinesTheSummaryAndTheMetrics() throws {
        #expect(FileManager.default.isExecutableFile(atPath: CLI.executable.path), "no adamw at \(CLI.executable.path)")
        let metrics = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).jsonl")
        let result = try CLI.run(["train", "--epochs", "1", "--no-progress", "--metrics-out", metrics.path])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.lines.first?.hasPrefix("Epoch 1, Loss: 0.5") == true, "\(result.lines)")
        #expect(result.lines.contains { $0.hasPrefix("Test Accuracy: 9") && $0.hasSuffix("%") })
        let summary = CLI.summary(result)
        #expect(summary["job"] == "train" && summary["model"] == "linear" && summary["epochs"] == "1")
        #expect(Double(summary["accuracy"] ?? "") ?? 0 >= 91, "one epoch of the release build reaches 91%")
        for key in ["load_s", "train_s", "eval_s"] { #expect(Double(summary[key] ?? "") != nil, "\(key)") }
        let records = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n")
        #expect(records.count == 1)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(records[0].utf8)) as? [String: Any])
        #expect(Set(record.keys) == ["epoch", "train_loss", "test_loss", "test_accuracy", "lr", "skipped_steps", "seconds"])
        #expect(record["epoch"] as? Int == 1 && record["lr"] as? Double == 1e-3)
    }

    @Test func withoutASubcommandAdamwTrains() throws {
        let result = try CLI.run(["--epochs", "1", "--no-progress", "--model", "mlp", "--hidden", "32",
                                  "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--threads", "1"])
        #expect(result.status == 0, "\(result.error)")
        #expect(CLI.summary(result)["model"] == "mlp")
        #expect(Double(CLI.summary(result)["accuracy"] ?? "") ?? 0 >= 90)
    }

    /// --epochs alone decides how long a run trains; --schedule-epochs only how long its schedule spans.
    @Test func theScheduleLengthDoesNotChangeTheEpochCount() throws {
        let result = try CLI.run(["train", "--no-progress", "--batch-size", "2000", "--scheduler", "cosine",
                                  "--schedule-epochs", "1", "--epochs", "2"])
        #expect(result.status == 0, "\(result.error)")
        #expect(CLI.summary(result)["epochs"] == "2")
        let short = try CLI.run(["train", "--no-progress", "--batch-size", "2000", "--scheduler", "cosine",
                                 "--schedule-epochs", "7"])
        #expect(CLI.summary(short)["epochs"] == "5", "the default is 5 epochs, whatever the schedule spans")
    }

    /// The same seed gives the same run bit for bit whatever the thread count: the same checkpoint bytes.
    @Test func oneAndTwoThreadsWriteTheSameCheckpoint() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("threads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [Data] = []
        for threads in ["1", "2"] {
            let path = folder.appendingPathComponent("t\(threads).safetensors").path
            // 6000 samples keep this quick under the sanitizers' debug builds; 256 hidden units split every
            // product and the first layer's optimizer step over both threads.
            let result = try CLI.run(["train", "--no-progress", "--epochs", "1", "--model", "mlp", "--hidden", "256",
                                      "--train-samples", "6000", "--threads", threads, "--save", path])
            #expect(result.status == 0, "\(result.error)")
            files.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        #expect(files[0] == files[1])
    }

    @Test func aDataDirectoryIsRead() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let result = try CLI.run(["train", "--no-progress", "--epochs", "1", "--batch-size", "1000",
                                  "--data-dir", repository.appendingPathComponent("Data/mnist").path])
        #expect(result.status == 0, "\(result.error)")
        #expect(Double(CLI.summary(result)["accuracy"] ?? "") ?? 0 > 80)
    }

    @Test func theOptimizerOptionsAreAccepted() throws {
        let result = try CLI.run(["train", "--epochs", "1", "--no-progress", "--optimizer", "adam", "--amsgrad",
                                  "--betas", "0.8,0.99", "--eps", "1e-6", "--weight-decay", "0.001",
                                  "--no-decay-bias-norm", "--batch-size", "256", "--seed", "3"])
        #expect(result.status == 0, "\(result.error)")
        #expect(Double(CLI.summary(result)["accuracy"] ?? "") ?? 0 >= 88)
    }

    static let invalid: [([String], String)] = [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--threads", "0"], "--threads must be between 1 and 256"),
        (["--hidden", "64"], "--hidden applies only to --model mlp"),
        (["--model", "mlp", "--hidden", "64,x"], "--hidden must be positive integers"),
        (["--model", "mlp", "--hidden", "0"], "--hidden must be positive integers"),
        (["--betas", "0.9"], "--betas must be two numbers"),
        (["--model", "cnn"], "The value 'cnn' is invalid for '--model"),
        (["--optimizer", "lamb"], "The value 'lamb' is invalid for '--optimizer"),
        (["--lr", "abc"], "The value 'abc' is invalid for '--lr"),
        (["--lr", "-1"], "invalid learning rate: -1.0"),
        (["--betas", "1.0,0.999"], "invalid beta parameter at index 0: 1.0"),
        (["--eps", "-1"], "invalid epsilon value: -1.0"),
        (["--weight-decay", "-0.5"], "invalid weight decay value: -0.5"),
        (["--optimizer", "sgd", "--momentum", "-1"], "invalid momentum value: -1.0"),
        (["--data-dir", "/nonexistent/mnist"], "no data file in /nonexistent/mnist"),
        (["--metrics-out", "/nonexistent/dir/m.jsonl"], "--metrics-out /nonexistent/dir/m.jsonl: the folder /nonexistent/dir does not exist"),
        (["--frobnicate"], "Unknown option '--frobnicate'"),
        (["--accumulate", "0"], "--accumulate must be at least 1"),
        (["--train-samples", "0"], "--train-samples must be at least 1"),
        (["--train-samples", "70000"], "invalid --train-samples (the training set has 60000): 70000"),
        (["--scheduler", "step"], "The value 'step' is invalid for '--scheduler"),
        (["--scheduler", "cosine", "--schedule-epochs", "0"], "--schedule-epochs must be at least 1"),
        (["--scheduler", "warmup-cosine", "--warmup-steps", "0"], "--warmup-steps must be at least 1"),
        (["--scheduler", "onecycle", "--pct-start", "2"], "--pct-start must be in [0, 1) (1 leaves no steps to anneal), got 2.0"),
        (["--scheduler", "plateau", "--plateau-factor", "1.5"], "--plateau-factor must be in [0, 1), got 1.5"),
        (["--scheduler", "plateau", "--plateau-patience", "-1"], "--plateau-patience must be 0 or more, got -1.0"),
        (["--scheduler", "cosine", "--min-lr", "-1"], "--min-lr must be a finite number >= 0 within Float's range, got -1.0"),
        (["--clip-norm", "0"], "--clip-norm must be a positive number"),
        (["--non-finite", "ignore"], "The value 'ignore' is invalid for '--non-finite"),
        (["--seed", "-3"], "The value '-3' is invalid for '--seed"),
        (["--save", "/nonexistent/dir/run.safetensors", "--batch-size", "2000"], "--save /nonexistent/dir/run.safetensors: the folder /nonexistent/dir does not exist"),
        (["--resume", "/nonexistent/run.safetensors"], "/nonexistent/run.safetensors: "),
        (["--momentum", "0.9"], "--momentum applies only to --optimizer sgd or rmsprop"),
        (["--optimizer", "adam", "--alpha", "0.9"], "--alpha applies only to --optimizer rmsprop"),
        (["--optimizer", "rmsprop", "--lr-decay", "0.1"], "--lr-decay applies only to --optimizer adagrad"),
        (["--optimizer", "rmsprop", "--alpha", "-1"], "invalid alpha value: -1.0 (must be finite and >= 0)"),
        (["--optimizer", "adagrad", "--lr-decay", "-1"], "invalid lr_decay value: -1.0 (must be finite and >= 0)"),
        (["--optimizer", "adagrad", "--initial-accumulator-value", "nan"], "invalid initial_accumulator_value value: nan"),
        (["--optimizer", "sgd", "--nesterov"], "nesterov momentum requires a momentum > 0"),
        (["--optimizer", "sgd", "--betas", "0.9,0.99"], "--betas applies only to --optimizer adamw, adam or adamw-schedulefree"),
        (["--optimizer", "sgd", "--eps", "1e-6"], "--eps applies only to --optimizer adamw, adam, rmsprop, adagrad or adamw-schedulefree"),
        (["--optimizer", "sgd", "--amsgrad"], "--amsgrad applies only to --optimizer adamw or adam"),
        (["--optimizer", "adam", "--decay-convention", "schedule"], "--decay-convention applies only to --optimizer adamw (or with --decoupled-weight-decay)"),
        (["--decay-convention", "paper"], "The value 'paper' is invalid for '--decay-convention"),
        (["--schedule-epochs", "3"], "--schedule-epochs applies only to --scheduler cosine, warmup-cosine or onecycle"),
        (["--min-lr", "0.001"], "--min-lr applies only to --scheduler plateau, cosine or warmup-cosine"),
        (["--scheduler", "cosine", "--warmup-steps", "10"], "--warmup-steps applies only to --scheduler warmup-cosine"),
        (["--optimizer", "adamw-schedulefree", "--scheduler", "cosine"],
         "--scheduler cosine cannot be used with --optimizer adamw-schedulefree: it replaces the schedule"),
        (["--optimizer", "adamw-schedulefree", "--warmup-steps", "-1"], "--warmup-steps: invalid warmup_steps value: -1.0"),
        (["--optimizer", "adamw", "--r", "0.5"], "--r applies only to --optimizer adamw-schedulefree"),
        (["--optimizer", "sgd", "--decay-to", "initial"], "--decay-to applies only to --optimizer adamw or adam"),
        (["--optimizer", "adam", "--decay-to", "initial"],
         "--decay-to initial needs weight decay: the weight decay of --optimizer adam is 0 here (give --weight-decay)"),
        (["--decay-to", "pretrained"], "'pretrained' is invalid for '--decay-to <decay-to>'"),
        (["--pct-start", "0.2"], "--pct-start applies only to --scheduler onecycle"),
        (["--scheduler", "cosine", "--plateau-factor", "0.5"], "--plateau-factor applies only to --scheduler plateau"),
        (["--plateau-patience", "3"], "--plateau-patience applies only to --scheduler plateau"),
        (["--scheduler", "onecycle", "--schedule-epochs", "1", "--epochs", "2"],
         "--epochs 2 goes past the onecycle schedule of 1 epochs (--schedule-epochs)"),
        (["--scheduler", "warmup-cosine", "--warmup-steps", "5000", "--epochs", "1"],
         "warmup-cosine: invalid warm-up steps, which must be fewer than the schedule's 938: 5000.0"),
        (["--scheduler", "onecycle", "--epochs", "1", "--batch-size", "6000", "--pct-start", "0.1"],
         "OneCycleLR: invalid pct start (pct start × total steps = 1) 0.1"),
        (["--scheduler", "cosine", "--min-lr", "nan"], "--min-lr must be a finite number >= 0 within Float's range, got nan"),
        (["--clip-norm", "inf"], "--clip-norm must be a positive number"),
    ]

    @Test(arguments: invalid)
    func aWrongOptionGetsAClearMessageAndAFailureStatus(_ arguments: [String], _ message: String) throws {
        let result = try CLI.run(["train", "--no-progress"] + arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "stderr: \(result.error)")
        #expect(!result.output.contains("Epoch"), "nothing is trained")
    }
}

extension TrainCommandTests {
    /// On a terminal (here a pseudo-terminal made by util-linux `script`), a progress bar is drawn on standard
    /// error with batches, rate and ETA; with --no-progress, or when the output is not a terminal, it is not.
    @Test func aProgressBarIsDrawnOnATerminalOnly() throws {
        let command = "\(CLI.executable.path) train --epochs 1"
        let onTerminal = try CLI.run(["-qec", command, "/dev/null"], program: URL(fileURLWithPath: "/usr/bin/script"))
        #expect(onTerminal.status == 0)
        let text = onTerminal.output
        #expect(text.contains("938/938") && text.contains("batch/s") && text.contains("ETA"), "\(text.prefix(300))")
        let plain = try CLI.run(["train", "--epochs", "1"])
        #expect(!plain.error.contains("batch/s") && !plain.output.contains("batch/s"))
    }
}

struct BenchCommandTests {
    static let invalid: [([String], String)] = [
        (["bench", "optimizer", "--parameters", "0"], "--parameters must be at least 1"),
        (["bench", "optimizer", "--threads", "300"], "--threads must be between 1 and 256"),
        (["bench", "optimizer", "--samples", "0"], "--samples must be at least 1"),
        (["bench", "optimizer", "--non-finite", "maybe"], "The value 'maybe' is invalid for '--non-finite"),
        (["bench", "optimizer", "--model", "gpt3"], "The value 'gpt3' is invalid for '--model"),
        (["bench", "gemm", "--size", "0"], "--size must be at least 1"),
        (["bench", "gemm", "--threads", "0"], "--threads must be between 1 and 256"),
        (["bench", "nothing"], "Unexpected argument 'nothing'"),
    ]

    @Test(arguments: invalid)
    func aWrongBenchOptionGetsAClearMessage(_ arguments: [String], _ message: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "stderr: \(result.error)")
    }

    @Test func theOptimizerBenchmarkPrintsItsSummaryLines() throws {
        let result = try CLI.run(["bench", "optimizer", "--parameters", "4096", "--threads", "1", "--samples", "3",
                                  "--non-finite", "skip"])
        #expect(result.status == 0, "\(result.error)")
        let summaries = result.lines.filter { $0.hasPrefix("summary optimizer=") }
        #expect(summaries.count == 4)
        #expect(Array(result.lines.suffix(4)) == summaries, "the summary lines end the output")
        for line in summaries {
            #expect(line.range(of: #"^summary optimizer=(adamw|adam|sgd|adamw-schedulefree) parameters=4096 threads=1 gparams_per_s=\d+\.\d{3} ceiling_gparams_per_s=\d+\.\d{3} cpu=(avx512|avx2|sse2|neon|generic)$"#,
                               options: .regularExpression) != nil, "\(line)")
        }
    }

    /// In a container or under `taskset` a process may run on fewer processors than the machine has; the default
    /// pool is sized to those, not to the machine.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset")))
    func theDefaultThreadCountIsTheProcessorsTheProcessMayUse() throws {
        let result = try CLI.run(["bench", "optimizer", "--parameters", "1024", "--samples", "1"],
                                 launcher: ["/usr/bin/taskset", "-c", "0"])
        #expect(result.status == 0, "\(result.error)")
        let summaries = result.lines.filter { $0.hasPrefix("summary optimizer=") }
        #expect(summaries.count == 4 && summaries.allSatisfy { $0.contains(" threads=1 ") }, "\(summaries)")
    }
}

extension TrainCommandTests {
    /// Every option that any optimizer declares is a flag of `adamw train`, with each optimizer's default in its
    /// help: the declarations and the command line cannot drift apart.
    @Test func everyDeclaredOptimizerOptionIsAFlagWithItsDefaults() throws {
        let help = try CLI.run(["train", "--help"])
        #expect(help.status == 0)
        let text = help.output.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        for kind in OptimizerKind.allCases {
            for option in kind.options {
                let flag = "--" + option.name.replacingOccurrences(of: "_", with: "-")
                #expect(text.contains(flag), "\(flag) of \(kind) is not a flag")
                if !option.isFlag {
                    #expect(text.contains("\(kind.rawValue) \(option.defaultText)"), "\(flag): \(kind)'s default")
                }
            }
        }
        #expect(text.contains("adamw, adam, sgd, rmsprop, adagrad"))
    }
}

/// The seeds' program, as `Examples/MNIST` writes it, and `adamw train`: the test accuracy after every epoch, the
/// loss to four decimals and the accuracy to two.
struct SeedProgramOutputTests {
    static func expectSeedFormat(_ lines: [String], epochs: Int) {
        let pairs = lines.filter { $0.hasPrefix("Epoch ") || $0.hasPrefix("Test Accuracy: ") }
        #expect(pairs.count == 2 * epochs, "\(lines)")
        for epoch in 1...epochs where pairs.count == 2 * epochs {
            let loss = pairs[2 * epoch - 2], accuracy = pairs[2 * epoch - 1]
            #expect(loss.wholeMatch(of: /Epoch \d+, Loss: \d+\.\d{4}/) != nil && loss.hasPrefix("Epoch \(epoch), "), "\(loss)")
            #expect(accuracy.wholeMatch(of: /Test Accuracy: \d+\.\d{2}%/) != nil, "\(accuracy)")
        }
    }

    @Test func theExamplePrintsTheTestAccuracyAfterEveryEpoch() throws {
        let example = CLI.executable.deletingLastPathComponent().appendingPathComponent("mnist-example")
        let result = try CLI.run([], program: example)
        #expect(result.status == 0, "\(result.error)")
        let lines = result.lines
        Self.expectSeedFormat(lines, epochs: 5)
        // One linear layer reaches about 92% after five epochs, as in PyTorch.
        let last = Double(lines.last?.dropFirst("Test Accuracy: ".count).dropLast() ?? "") ?? 0
        #expect(last > 91, "\(lines)")
    }

    @Test func adamwTrainPrintsTheTestAccuracyAfterEveryEpoch() throws {
        let result = try CLI.run(["train", "--epochs", "2", "--train-samples", "2000", "--no-progress"])
        #expect(result.status == 0, "\(result.error)")
        Self.expectSeedFormat(result.lines, epochs: 2)
        #expect(result.lines.last?.hasPrefix("summary job=train") == true)
    }
}
