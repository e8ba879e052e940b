import Checkpoints
import Foundation
import Optim
import TestSupport
import Testing

/// The second hardening pass, through the built binary: the GPT, sampling, the experiments, MPI and interrupts.
/// Each case ends with the exit status and the one line it must print (64: a usage error; 1: bad data, files or a
/// failed run), as ``HardeningTests`` does for `adamw train`.
@Suite(.serialized)
struct HardeningGPTTests {
    /// A small model: every run below takes well under a second.
    static let tiny = ["--layers", "1", "--embedding", "16", "--heads", "2", "--context", "8", "--batch-size", "4",
                       "--no-progress"]

    /// A text of `count` characters cycling through the ten digits and a newline, written to `folder/name`.
    static func text(_ folder: URL, _ name: String = "text.txt", count: Int = 3000, newline: Bool = true) throws -> String {
        let alphabet = Array(newline ? "0123456789\n" : "0123456789 ")
        let text = String((0..<count).map { alphabet[($0 * 7 + $0 / 11) % alphabet.count] })
        let path = folder.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `adamw arguments` under `ulimit -<flag> kilobytes`.
    static func limited(_ flag: String, _ kilobytes: Int, _ arguments: [String]) throws -> CLI.Result {
        try CLI.run(arguments, launcher: ["/bin/sh", "-c", "ulimit -\(flag) \(kilobytes) && exec \"$0\" \"$@\""])
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Appends `text` to the file at `path`, as an interrupted writer would have.
    static func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// A GPT checkpoint of the tiny model, changed by `change` and written back with a valid checksum.
    static func forged(_ folder: URL, _ change: (inout StateDict) -> Void) throws -> String {
        let path = folder.appendingPathComponent("forged-\(UUID().uuidString).safetensors").path
        let trained = try CLI.run(["gpt", "--iters", "2", "--data", try text(folder), "--save", path] + tiny)
        #expect(trained.status == 0, "\(trained.error)")
        var state = try CheckpointFile.read(path)
        change(&state)
        try CheckpointFile.write(state, to: path)
        return path
    }

    // MARK: 1. Crashes

    /// Texts too short for the experiments' split of the validation text into a selection and a held-out half.
    @Test(arguments: ["compare", "sweep", "decay-report", "tune"])
    func theExperimentsRefuseATextTooShortForTheirSplits(_ command: String) throws {
        let folder = try HardeningTests.folder()
        for (count, message) in [(31, "its training split (the first 90%) holds 27 characters"),
                                 (1201, "its validation split (the last 10%) holds 121 characters")] {
            let text = try Self.text(folder, "t\(count).txt", count: count)
            let result = try CLI.run([command, "--task", "gpt", "--text", text, "--iters", "1", "--no-progress",
                                      "--out", folder.appendingPathComponent("out").path])
            HardeningTests.expect(result, status: 1, message, "\(command) on \(count) characters")
        }
    }

    /// A text of 200,000 distinct characters makes the embedding and the head 200,000 rows: the estimate counts them.
    @Test func theMemoryEstimateCountsTheTextsVocabulary() throws {
        let folder = try HardeningTests.folder()
        let scalars = (0..<200_000).compactMap { Unicode.Scalar(0x10000 + $0) }
        let path = folder.appendingPathComponent("wide.txt")
        try Data(String(String.UnicodeScalarView(scalars)).utf8).write(to: path)
        let result = try CLI.run(["gpt", "--data", path.path, "--iters", "1", "--layers", "1", "--heads", "1",
                                  "--embedding", "8192", "--context", "8", "--batch-size", "1", "--no-progress"])
        HardeningTests.expect(result, status: 64, "(vocabulary of 200000)", "a wide vocabulary")
        #expect(!result.error.contains("Usage"), "a value found once the run started is not a usage error: \(result.error)")
    }

    /// Sizes within the machine's memory but beyond what the process may allocate (`ulimit`): refused before
    /// anything is allocated, from flags and from a checkpoint alike.
    @Test func sizesBeyondWhatTheProcessMayAllocateAreRefused() throws {
        let folder = try HardeningTests.folder()
        let forged = try Self.forged(folder) { state in
            state.metadata["recipe"] = state.metadata["recipe"]?.replacingOccurrences(of: "\"embedding\":16", with: "\"embedding\":4096")
        }
        let cases: [(String, [String], Int32, String)] = [
            ("v", ["gpt", "--batch-size", "1000", "--iters", "1", "--no-progress"], 64, "(ulimit -v)"),
            ("v", ["gpt", "--batch-size", "300", "--accumulate", "8", "--iters", "1", "--no-progress"], 64, "(ulimit -v)"),
            ("d", ["gpt", "--batch-size", "1000", "--iters", "1", "--no-progress"], 64, "(ulimit -d)"),
            ("v", ["gpt", "--resume", forged, "--data", try Self.text(folder), "--no-progress"], 1,
             "the saved recipe is invalid"),
            ("v", ["bench", "distributed", "--embedding", "2048", "--iters", "1"], 64, "(ulimit -v)"),
            ("v", ["train", "--model", "mlp", "--hidden", "4096", "--batch-size", "60000", "--epochs", "1", "--no-progress"],
             64, "(ulimit -v)"),
        ]
        for (flag, arguments, status, message) in cases {
            let result = try Self.limited(flag, 1_500_000, arguments)
            HardeningTests.expect(result, status: status, message, "ulimit -\(flag) \(arguments)")
            #expect(result.error.contains("this process may allocate only"), "\(arguments): \(result.error)")
        }
    }

    /// What no estimate covers (a checkpoint loaded for sampling, here under a tight `ulimit`) ends in one line
    /// and status 1, not a trap.
    @Test func anAllocationThatFailsIsOneLine() throws {
        let folder = try HardeningTests.folder()
        let path = folder.appendingPathComponent("big.safetensors").path
        let text = try Self.text(folder, count: 30_000)
        let trained = try CLI.run(["gpt", "--iters", "1", "--embedding", "512", "--layers", "4", "--heads", "4",
                                   "--data", text, "--save", path, "--no-progress"])
        #expect(trained.status == 0, "\(trained.error)")
        let result = try Self.limited("v", 420_000, ["gpt", "sample", "--checkpoint", path, "--tokens", "5"])
        HardeningTests.expect(result, status: 1, "out of memory", "sampling under ulimit -v")
        #expect(!result.error.contains("Backtrac"), "\(result.error)")
    }

    // MARK: 2. Outputs that would overwrite inputs

    /// --save and --metrics-out naming the --data text by its path, `./`, a hard link or a link to its folder.
    @Test func aRunNeverWritesOverItsText() throws {
        let folder = try HardeningTests.folder()
        let text = try Self.text(folder)
        let before = try Self.bytes(text)
        try FileManager.default.linkItem(atPath: text, toPath: folder.appendingPathComponent("hard.txt").path)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("via").path,
                                                   withDestinationPath: folder.path)
        let spellings = [text, folder.path + "/./text.txt", folder.appendingPathComponent("hard.txt").path,
                         folder.appendingPathComponent("via/text.txt").path]
        for flag in ["--save", "--metrics-out"] {
            for spelling in spellings {
                let result = try CLI.run(["gpt", "--data", text, "--iters", "1", flag, spelling] + Self.tiny)
                HardeningTests.expect(result, status: 1, "is the same file as --data \(text)", "\(flag) \(spelling)")
            }
        }
        // The checkpoint resumed from is an input too when another one is saved.
        let run = folder.appendingPathComponent("run.safetensors").path
        #expect(try CLI.run(["gpt", "--data", text, "--iters", "1", "--save", run] + Self.tiny).status == 0)
        let checkpoint = try Self.bytes(run)
        let resumed = try CLI.run(["gpt", "--resume", run, "--data", text, "--iters", "2", "--no-progress",
                                   "--save", folder.appendingPathComponent("next.safetensors").path, "--metrics-out", run])
        HardeningTests.expect(resumed, status: 1, "is the same file as --resume \(run)", "--metrics-out the resumed checkpoint")
        #expect(try Self.bytes(text) == before && Self.bytes(run) == checkpoint)
        // Saving over the checkpoint resumed from is how a run goes on, --save naming it or not.
        for save in [[], ["--save", run], ["--save", folder.path + "/./run.safetensors"]] {
            let next = try CLI.run(["gpt", "--resume", run, "--data", text, "--iters", "\(save.count + 2)", "--no-progress"] + save)
            #expect(next.status == 0, "\(save): \(next.error)")
        }
        #expect(try CheckpointFile.read(run).metadata["iteration"] == "4")
    }

    /// `train` and the experiments: an MNIST file of --data-dir, or the --text, in place of an output.
    @Test func theMNISTFilesAndTheExperimentsTextAreNeverOverwritten() throws {
        let folder = try HardeningTests.folder()
        let mnist = folder.appendingPathComponent("mnist")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Data/mnist"), to: mnist)
        let labels = mnist.appendingPathComponent("t10k-labels.idx1-ubyte.gz").path
        let before = try Self.bytes(labels)
        for flag in ["--save", "--metrics-out"] {
            let result = try CLI.run(["train", "--data-dir", mnist.path, "--epochs", "1", flag, labels] + HardeningTests.quick)
            HardeningTests.expect(result, status: 1, "is the same file as --data-dir \(labels)", "train \(flag)")
        }
        let out = folder.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.linkItem(atPath: labels, toPath: out.appendingPathComponent("decay-report.csv").path)
        let report = try CLI.run(["decay-report", "--data-dir", mnist.path, "--epochs", "1", "--out", out.path, "--no-progress"])
        HardeningTests.expect(report, status: 1, "it is the same file as --data-dir \(labels)", "decay-report over an MNIST file")
        let text = try Self.text(folder, count: 30_000)
        let textBefore = try Self.bytes(text)
        try FileManager.default.linkItem(atPath: text, toPath: out.appendingPathComponent("sweep.csv").path)
        let sweep = try CLI.run(["sweep", "--task", "gpt", "--text", text, "--iters", "1", "--grid", "1x1", "--out", out.path,
                                 "--no-progress"])
        HardeningTests.expect(sweep, status: 1, "it is the same file as --text \(text)", "sweep over its text")
        // A link to a folder is that folder.
        let link = folder.appendingPathComponent("out-link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: mnist.path + "/../fresh")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("fresh"), withIntermediateDirectories: true)
        let linked = try CLI.run(["sweep", "--task", "gpt", "--text", text, "--iters", "1", "--grid", "1x1", "--out", link,
                                  "--no-progress"])
        #expect(linked.status == 0 && FileManager.default.fileExists(atPath: folder.appendingPathComponent("fresh/sweep.csv").path),
                "\(linked.error)")
        #expect(try Self.bytes(labels) == before && Self.bytes(text) == textBefore)
    }

    // MARK: 3. Wrong results with exit 0

    /// Weights that are not numbers, in the model or in its tied head, are refused by name; identical NaN tied
    /// weights are not called different.
    @Test func weightsThatAreNotFiniteAreRefused() throws {
        let folder = try HardeningTests.folder()
        for (name, value) in [("transformer.h.0.mlp.c_fc.weight", Float.nan), ("transformer.ln_f.weight", Float.infinity),
                              ("transformer.wte.weight", Float.nan)] {
            let path = try Self.forged(folder) { state in
                var tensor = state.tensors[name]!
                tensor.values[3] = value
                state.tensors[name] = tensor
                if name == "transformer.wte.weight" { state.tensors["lm_head.weight"] = tensor }
            }
            let sample = try CLI.run(["gpt", "sample", "--checkpoint", path, "--tokens", "10"])
            HardeningTests.expect(sample, status: 1, "'\(name)' holds \(value) at index 3; a model's weights must be finite",
                                  "sample \(name) = \(value)")
            #expect(!sample.error.contains("differs"), "\(sample.error)")
            let resume = try CLI.run(["gpt", "--resume", path, "--data", try Self.text(folder), "--iters", "3", "--no-progress"])
            HardeningTests.expect(resume, status: 1, "must be finite", "resume \(name) = \(value)")
        }
    }

    /// A temperature so small that every logit overflows picks the largest, as top-k 1 does.
    @Test func aTinyTemperatureSamplesTheLikeliestCharacter() throws {
        let folder = try HardeningTests.folder()
        let path = try Self.forged(folder) { _ in }
        let greedy = try CLI.run(["gpt", "sample", "--checkpoint", path, "--tokens", "40", "--top-k", "1"])
        for temperature in ["1e-320", "1e-45"] {
            let cold = try CLI.run(["gpt", "sample", "--checkpoint", path, "--tokens", "40", "--temperature", temperature])
            #expect(cold.status == 0 && cold.output == greedy.output, "\(temperature): \(cold.output) \(cold.error)")
        }
    }

    /// Flags that only MNIST reads are refused with --task gpt, as every other flag a task does not read is.
    @Test func theGPTTaskRefusesMNISTFlags() throws {
        let cases: [(String, [String])] = [
            ("compare", ["--hidden", "64"]), ("compare", ["--scheduler", "none"]), ("compare", ["--validation-samples", "5"]),
            ("compare", ["--batch-size", "8"]), ("compare", ["--train-samples", "100"]), ("compare", ["--data-dir", "/tmp"]),
            ("sweep", ["--hidden", "64"]), ("sweep", ["--scheduler", "none"]), ("sweep", ["--batch-size", "8"]),
            ("sweep", ["--train-samples", "100"]), ("decay-report", ["--hidden", "64"]), ("decay-report", ["--batch-size", "8"]),
            ("decay-report", ["--data-dir", "/tmp"]), ("tune", ["--hidden", "64"]), ("tune", ["--validation-samples", "5"]),
        ]
        for (command, flag) in cases {
            let result = try CLI.run([command, "--task", "gpt"] + flag)
            HardeningTests.expect(result, status: 64, "\(flag[0]) applies only to --task mnist", "\(command) \(flag)")
        }
    }

    /// Values valid as Doubles that the run could not use: a --min-lr beyond Float or above --lr (the cosine would
    /// rise), a --pct-start of 1 (no steps left to anneal: a NaN learning rate), a learning rate beyond Float in an
    /// experiment, low-bit states timed on a tensor too small for them (float32 would be timed).
    @Test func valuesTheRunCouldNotUseAreRefused() throws {
        let cases: [([String], String)] = [
            (["gpt", "--min-lr", "1e39"], "--min-lr must be a finite number >= 0 within Float's range"),
            (["gpt", "--lr", "0"], "--min-lr must be at most --lr (0.0)"),
            (["train", "--scheduler", "cosine", "--min-lr", "1"], "--min-lr must be at most --lr (0.001)"),
            (["train", "--scheduler", "onecycle", "--pct-start", "1"], "--pct-start must be in [0, 1)"),
            (["compare", "--adam-lr", "1e39"], "--adam-lr must be a positive number within Float's range"),
            (["bench", "optimizer", "--parameters", "1000", "--states", "int8"], "--parameters 1000 would keep float32 states"),
        ]
        for (arguments, message) in cases {
            HardeningTests.expect(try CLI.run(arguments + ["--no-progress"].filter { _ in arguments[0] != "bench" }),
                                  status: 64, message, "\(arguments)")
        }
    }

    @Test(arguments: [["memory", "--states", ""], ["memory", "--states", "fp32,,int8"], ["bench", "optimizer", "--states", ""]])
    func anEmptyListOfStoragesIsRefused(_ arguments: [String]) throws {
        HardeningTests.expect(try CLI.run(arguments), status: 64, "--states must list one or more of", "\(arguments)")
    }

    /// A checkpoint whose model metadata (what `gpt sample` builds from) contradicts its recipe is not resumed.
    @Test func aResumeRefusesMetadataThatContradictsTheRecipe() throws {
        let folder = try HardeningTests.folder()
        let text = try Self.text(folder)
        for (key, value, message) in [("n_head", "1", "contradicts the recipe's model"),
                                      ("dropout", "0.5", "contradicts the recipe's model"),
                                      ("vocabulary", "\"\\n012345678a\"", "its vocabulary metadata is not this text's")] {
            let path = try Self.forged(folder) { state in state.metadata[key] = value }
            let result = try CLI.run(["gpt", "--resume", path, "--data", text, "--iters", "3", "--no-progress"])
            HardeningTests.expect(result, status: 1, message, "\(key) = \(value)")
        }
    }

    // MARK: 4. Data loss

    /// A run whose loss stops being finite ends there, with status 1, keeping the last checkpoint whose loss was
    /// finite; its metrics say null where JSON has no NaN.
    @Test func aDivergedRunKeepsItsLastFiniteCheckpoint() throws {
        let folder = try HardeningTests.folder()
        let text = try Self.text(folder)
        let path = folder.appendingPathComponent("run.safetensors").path
        let metrics = folder.appendingPathComponent("m.jsonl").path
        let result = try CLI.run(["gpt", "--data", text, "--iters", "60", "--eval-interval", "1", "--lr", "1000", "--warmup", "0",
                                  "--clip-norm", "0", "--save", path, "--metrics-out", metrics] + Self.tiny)
        HardeningTests.expect(result, status: 1, "the run diverged at iteration", "lr 1000")
        let iteration = Int(result.error.components(separatedBy: "keeps iteration ").last?.prefix { $0.isNumber } ?? "") ?? -1
        let state = try CheckpointFile.read(path)
        #expect(state.metadata["iteration"] == String(iteration), "\(result.error)")
        for tensor in state.tensors.values where tensor.elementType == .float32 {
            #expect(tensor.values.allSatisfy { $0.isFinite })
        }
        for line in try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line)")
        }
        // MNIST: the first epoch diverges, so no checkpoint is written at all.
        let mnist = folder.appendingPathComponent("mnist.safetensors").path
        let mnistMetrics = folder.appendingPathComponent("mnist.jsonl").path
        let train = try CLI.run(["train", "--epochs", "3", "--lr", "1e30", "--non-finite", "propagate", "--save", mnist,
                                 "--metrics-out", mnistMetrics] + HardeningTests.quick)
        HardeningTests.expect(train, status: 1, "the run diverged at epoch 1: the loss is NaN; no checkpoint was written", "train")
        #expect(!FileManager.default.fileExists(atPath: mnist))
        let record = try JSONSerialization.jsonObject(with: Self.bytes(mnistMetrics)) as? [String: Any]
        #expect(record?["epoch"] as? Int == 1 && record?["test_loss"] is NSNull, "\(String(describing: record))")
    }

    /// An interrupt between a metrics record and its checkpoint leaves the metrics one evaluation ahead: the
    /// resume drops the extra record and writes it again.
    @Test func aResumeDropsMetricsPastItsCheckpoint() throws {
        let folder = try HardeningTests.folder()
        let text = try Self.text(folder)
        let path = folder.appendingPathComponent("run.safetensors").path
        let metrics = folder.appendingPathComponent("m.jsonl").path
        let options = ["--data", text, "--eval-interval", "2", "--lr-decay-iters", "6", "--save", path, "--metrics-out", metrics] + Self.tiny
        #expect(try CLI.run(["gpt", "--iters", "4"] + options).status == 0)
        try Self.append("{\"iter\":6,\"train_loss\":9}\n", to: metrics)
        let rest = try CLI.run(["gpt", "--resume", path, "--data", text, "--iters", "6", "--metrics-out", metrics, "--no-progress",
                                "--eval-interval", "2"])
        #expect(rest.status == 0, "\(rest.error)")
        let iterations = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["iter"] as? Int
        }
        #expect(iterations == [2, 4, 6], "\(iterations)")
        #expect(!(try String(contentsOfFile: metrics, encoding: .utf8)).contains("\"train_loss\":9"))
        // A last record cut short (a process killed while writing it) is dropped too; an empty file is a new one.
        try Self.append("{\"iter\":8,\"trai", to: metrics)
        let more = try CLI.run(["gpt", "--resume", path, "--data", text, "--iters", "8", "--metrics-out", metrics, "--no-progress",
                                "--eval-interval", "2"])
        #expect(more.status == 0, "\(more.error)")
        #expect(try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").count == 4)
        try Data().write(to: URL(fileURLWithPath: metrics))
        let empty = try CLI.run(["gpt", "--resume", path, "--data", text, "--iters", "10", "--metrics-out", metrics,
                                 "--no-progress", "--eval-interval", "2"])
        #expect(try empty.status == 0 && String(contentsOfFile: metrics, encoding: .utf8).contains("\"iter\":10"), "\(empty.error)")
    }

    /// Temporary files of a killed writer are removed by the next run that saves there; a look-alike of a live
    /// process is kept.
    @Test func theNextRunRemovesTemporariesOfDeadWriters() throws {
        let folder = try HardeningTests.folder()
        let stale = folder.appendingPathComponent(".run.safetensors.tmp-\(try deadProcessIdentifier())-77").path
        let live = folder.appendingPathComponent(".run.safetensors.tmp-\(getpid())-78").path
        for file in [stale, live] { #expect(FileManager.default.createFile(atPath: file, contents: Data("half".utf8))) }
        let result = try CLI.run(["gpt", "--data", try Self.text(folder), "--iters", "1", "--save",
                                  folder.appendingPathComponent("run.safetensors").path] + Self.tiny)
        #expect(result.status == 0, "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: live))
    }

    /// SIGINT or SIGTERM while checkpoints are written: the process ends by the signal and leaves no temporary.
    @Test(arguments: [SIGINT, SIGTERM])
    func anInterruptLeavesNoTemporaryFile(_ signal: Int32) throws {
        let folder = try HardeningTests.folder()
        let process = Process()
        process.executableURL = CLI.executable
        // Checkpoints of 12 MB at every iteration: most of the run is spent writing one.
        process.arguments = ["gpt", "--data", try Self.text(folder, count: 30_000), "--iters", "100000", "--eval-interval", "1",
                             "--embedding", "256", "--layers", "4", "--heads", "4", "--context", "8", "--batch-size", "1",
                             "--save", folder.appendingPathComponent("run.safetensors").path, "--no-progress"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline,
              !((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).contains(where: { $0.contains(".tmp-") }) {}
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(!names.contains { $0.contains(".tmp-") }, "\(names)")
    }

    /// A --save name whose temporary would be too long still saves; a name the file system refuses, or a folder
    /// that takes no files, is refused before training.
    @Test func aSavePathIsCheckedBeforeTraining() throws {
        let folder = try HardeningTests.folder()
        let text = try Self.text(folder)
        let long = folder.appendingPathComponent(String(repeating: "n", count: 250)).path
        let saved = try CLI.run(["gpt", "--data", text, "--iters", "1", "--save", long] + Self.tiny)
        #expect(saved.status == 0 && FileManager.default.fileExists(atPath: long), "\(saved.error)")
        let cases = [(folder.appendingPathComponent(String(repeating: "n", count: 256)).path, "the file name is 256 bytes long"),
                     ("/proc/run.safetensors", "cannot create a file in /proc")]
        for (path, message) in cases {
            let result = try CLI.run(["gpt", "--data", text, "--iters", "1", "--save", path] + Self.tiny)
            HardeningTests.expect(result, status: 1, message, path)
            #expect(!result.output.contains("step 1:"), "refused before training")
        }
    }

    // MARK: 5. Unclear messages

    /// A text without a newline trains and samples (from its first character); a FIFO is read as a stream, a
    /// folder is named as one.
    @Test func textsWithoutNewlinesFromStreamsOrFoldersAreHandled() throws {
        let folder = try HardeningTests.folder()
        let text = try Self.text(folder, newline: false)
        let checkpoint = folder.appendingPathComponent("plain.safetensors").path
        let plain = try CLI.run(["gpt", "--data", text, "--iters", "2", "--save", checkpoint] + Self.tiny)
        #expect(plain.status == 0 && plain.lines.contains { $0.hasPrefix("summary ") }, "\(plain.error)")
        let sample = try CLI.run(["gpt", "sample", "--checkpoint", checkpoint, "--tokens", "5"])
        #expect(sample.status == 0 && sample.output.hasPrefix(" ") && sample.output.unicodeScalars.count == 1 + 5 + 1,
                "without a newline, the default prompt is the first character: \(sample.output) \(sample.error)")
        let fifo = folder.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let contents = try Self.bytes(text)
        let writer = Thread {
            if let handle = FileHandle(forWritingAtPath: fifo) {
                handle.write(contents)
                try? handle.close()
            }
        }
        writer.start()
        let streamed = try CLI.run(["gpt", "--data", fifo, "--iters", "2"] + Self.tiny)
        #expect(streamed.status == 0, "\(streamed.error)")
        #expect(MPI.comparable(streamed) == MPI.comparable(plain), "the same text through a FIFO trains the same")
        let refused = try CLI.run(["gpt", "--data", folder.path, "--iters", "1"] + Self.tiny)
        HardeningTests.expect(refused, status: 1, "--data \(folder.path): cannot be read: it is a folder", "a folder")
    }

    /// Processes that read different texts (or different MNIST files) are told so before they train.
    @Test func ranksThatReadDifferentDataAreRefused() throws {
        guard MPI.required() else { return }
        let folder = try HardeningTests.folder()
        let one = try Self.text(folder, "one.txt"), same = try Self.text(folder, "same.txt", count: 3001)
        let wider = folder.appendingPathComponent("wider.txt").path
        try Data((String(repeating: "x", count: 20) + String(contentsOfFile: one, encoding: .utf8)).utf8).write(to: URL(fileURLWithPath: wider))
        for other in [same, wider] {
            let arguments = ["gpt", "--iters", "2"] + Self.tiny
            let result = try CLI.run(arguments + ["--data", one, ":", "-np", "1", CLI.executable.path] + arguments + ["--data", other],
                                     launcher: MPI.launcher(1))
            #expect(result.status != 0)
            #expect(result.error.contains("rank 1's text differs from rank 0's"), "\(result.error)")
            #expect(result.error.contains("every process must read the same text"), "\(result.error)")
        }
        // MNIST: a second folder whose training files are the test split's (a valid data set, of other images).
        let mnist = folder.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: mnist, withIntermediateDirectories: true)
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Data/mnist")
        for (from, to) in [("t10k", "train"), ("t10k", "t10k")] {
            for kind in ["images.idx3-ubyte.gz", "labels.idx1-ubyte.gz"] {
                try FileManager.default.copyItem(at: source.appendingPathComponent("\(from)-\(kind)"),
                                                 to: mnist.appendingPathComponent("\(to)-\(kind)"))
            }
        }
        let arguments = ["train", "--epochs", "1", "--train-samples", "1000", "--no-progress"]
        let result = try CLI.run(arguments + [":", "-np", "1", CLI.executable.path] + arguments + ["--data-dir", mnist.path],
                                 launcher: MPI.launcher(1))
        #expect(result.status != 0 && result.error.contains("rank 1's training data differs from rank 0's"), "\(result.error)")
    }

    /// Processes given different flags, or resuming different checkpoints, would exchange buffers of different sizes
    /// (a crash) or train one model with several settings: they end the job naming the flag, before training.
    @Test func ranksGivenDifferentFlagsAreRefused() throws {
        guard MPI.required() else { return }
        let folder = try HardeningTests.folder()
        let text = try Self.text(folder)
        let gpt = ["gpt", "--data", text] + Self.tiny + ["--accumulate", "2", "--lr-decay-iters", "8"]
        let checkpoints = (2, 4)
        for iterations in [checkpoints.0, checkpoints.1] {
            let path = folder.appendingPathComponent("at\(iterations).safetensors").path
            #expect(try CLI.run(gpt + ["--iters", "\(iterations)", "--save", path]).status == 0)
        }
        let resume = { (iterations: Int) in ["gpt", "--data", text, "--no-progress", "--iters", "6", "--resume",
                                             folder.appendingPathComponent("at\(iterations).safetensors").path] }
        let cases: [([String], [String], String)] = [
            (gpt + ["--iters", "2"], gpt + ["--iters", "2", "--embedding", "32"], "different recipes (--embedding 32 against 16 on rank 0)"),
            (gpt + ["--iters", "2"], gpt + ["--iters", "2", "--clip-norm", "0"], "different recipes (--clip-norm"),
            (gpt + ["--iters", "2"], gpt + ["--iters", "2", "--lr", "0.5"], "(--lr 0.5 against 0.001 on rank 0)"),
            (gpt + ["--iters", "2"], gpt + ["--iters", "3"], "different run flags (--iters 3 against 2 on rank 0)"),
            (gpt + ["--iters", "2"], gpt + ["--iters", "2", "--save", folder.appendingPathComponent("b.safetensors").path],
             "(--save given against not given on rank 0)"),
            (resume(2), resume(4), "(--resume iteration 4, weights"),
            (["train", "--epochs", "1", "--train-samples", "500", "--no-progress"],
             ["train", "--epochs", "1", "--train-samples", "500", "--no-progress", "--model", "mlp", "--hidden", "16"],
             "different training options (--hidden [16] against [] on rank 0; --model mlp against linear on rank 0)"),
            (["bench", "distributed", "--iters", "1", "--warmup", "0", "--layers", "1", "--embedding", "16"],
             ["bench", "distributed", "--iters", "3", "--warmup", "0", "--layers", "1", "--embedding", "16"], "different"),
        ]
        for (first, second, message) in cases {
            let result = try CLI.run(first + [":", "-np", "1", CLI.executable.path] + second, launcher: MPI.launcher(1))
            #expect(result.status != 0 && result.error.contains(message), "\(second): \(result.error)")
            #expect(!result.error.contains("crashed") && !result.error.contains("Signal"), "\(result.error)")
        }
    }
}
