import Checkpoints
import Foundation
import Optim
import Testing

/// What a hostile user can type or a file can hold, class by class, through the built binary: each case ends with
/// the exit status and the one line it must print (64: a usage error; 1: bad data, files or a failed run).
struct HardeningTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("harden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let quick = ["--no-progress", "--batch-size", "2000", "--train-samples", "4000"]

    static func expect(_ result: CLI.Result, status: Int32, _ message: String, _ context: String) {
        #expect(result.status == status, "\(context): status \(result.status), stderr \(result.error)")
        #expect(result.error.contains(message), "\(context): stderr \(result.error)")
        #expect(!result.error.contains("USAGE") || status == 64, "\(context): usage text for a non-usage error")
        #expect(!result.error.contains("NSCocoaErrorDomain"), "\(context): \(result.error)")
        let lines = result.error.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("Usage") }
        #expect(status == 64 || lines.count == 1, "\(context): one line, got \(lines)")
    }

    // MARK: 1. Sizes that crash

    static let sizes: [([String], String)] = [
        (["train", "--model", "mlp", "--hidden", "99999999"], "--hidden 99999999 needs"),
        (["train", "--model", "mlp", "--hidden", "9223372036854775807"], "more bytes than an Int can count"),
        (["compare", "--hidden", "4000000000"], "--hidden 4000000000 needs"),
        (["bench", "optimizer", "--parameters", "9223372036854775807"], "--parameters 9223372036854775807 needs"),
        (["bench", "optimizer", "--parameters", "100000000000"], "this machine has"),
        (["bench", "gemm", "--size", "3037000500"], "--size 3037000500 needs"),
        (["compare", "--seeds", "9223372036854775807"], "--seeds must be between 1 and 1000"),
        (["train", "--scheduler", "cosine", "--schedule-epochs", "9223372036854775807"], "--schedule-epochs must be at most 1000000"),
        (["train", "--scheduler", "onecycle", "--epochs", "9223372036854775807"], "--schedule-epochs must be at most 1000000"),
        (["train", "--eps", "1e-50"], "smaller rounds to 0 in Float"),
    ]

    /// Counts near Int.max do not overflow: a batch or an accumulation larger than the data is one step an epoch.
    @Test(arguments: [["--batch-size", "9223372036854775807"], ["--accumulate", "9223372036854775807"]])
    func countsNearIntMaxTrain(_ arguments: [String]) throws {
        let result = try CLI.run(["train", "--epochs", "1", "--no-progress", "--train-samples", "1000"] + arguments)
        #expect(result.status == 0 && result.lines.contains { $0.hasPrefix("Epoch 1, Loss:") }, "\(result.error)")
    }

    @Test(arguments: sizes)
    func aSizeTooLargeIsRefusedBeforeAnythingIsAllocated(_ arguments: [String], _ message: String) throws {
        Self.expect(try CLI.run(arguments), status: 64, message, "\(arguments)")
    }

    // MARK: 2. Files that are well-formed but lie

    /// A checkpoint rewritten with a valid checksum but an impossible value: refused on --resume like the flag.
    static let lies: [(String, @Sendable (inout StateDict) -> Void, String)] = [
        ("batch size 0", { $0.metadata["options"] = $0.metadata["options"]?.replacingOccurrences(of: "\"batchSize\":2000", with: "\"batchSize\":0") },
         "the saved options are invalid: --batch-size must be at least 1, got 0"),
        ("accumulate -2", { $0.metadata["options"] = $0.metadata["options"]?.replacingOccurrences(of: "\"accumulate\":1", with: "\"accumulate\":-2") },
         "--accumulate must be at least 1, got -2"),
        ("lr -1", { $0.metadata["options"] = $0.metadata["options"]?.replacingOccurrences(of: "\"optimizerOptions\":{}", with: "\"optimizerOptions\":{\"lr\":\"-1\"}") },
         "invalid learning rate: -1.0"),
        ("lr 1e39", { $0.metadata["optimizer.groups"] = $0.metadata["optimizer.groups"]?.replacingOccurrences(of: "\"lr\":\"0.001\"", with: "\"lr\":\"1e39\"") },
         "the largest Float"),
        ("pct start 7", { $0.metadata["options"] = $0.metadata["options"]?.replacingOccurrences(of: "\"pctStart\":0.3", with: "\"pctStart\":7") },
         "--pct-start must be in [0, 1) (1 leaves no steps to anneal), got 7.0"),
        ("negative epoch", { $0.metadata["epoch"] = "-3" }, "the epoch is missing, unreadable or negative"),
        ("a tensor of no parameter", { $0.tensors["optimizer.state.ghost.exp_avg"] = .init(shape: [1], values: [0]) },
         "'state.ghost.exp_avg' belongs to no parameter"),
        ("an unknown option", { $0.metadata["optimizer.groups"] = $0.metadata["optimizer.groups"]?.replacingOccurrences(of: "\"options\":{", with: "\"options\":{\"momentum\":\"0.9\",") },
         "group 0 has an option 'momentum' that AdamW does not have"),
    ]

    @Test(arguments: lies.indices)
    func aCheckpointThatLiesIsRefusedAsTheFlagWouldBe(_ index: Int) throws {
        let (name, change, message) = Self.lies[index]
        let path = try Self.folder().appendingPathComponent("run.safetensors").path
        #expect(try CLI.run(["train", "--epochs", "1", "--save", path] + Self.quick).status == 0)
        var state = try CheckpointFile.read(path)
        let before = state
        change(&state)
        #expect(state != before, "\(name): the case must change the checkpoint")
        try CheckpointFile.write(state, to: path)
        Self.expect(try CLI.run(["train", "--resume", path, "--epochs", "2", "--no-progress"]), status: 1, message, name)
    }

    // MARK: 3. Writing over what is not ours

    @Test func onlyARegularFileOrNoneIsWritten() throws {
        let folder = try Self.folder()
        let fifo = folder.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let target = folder.appendingPathComponent("target.safetensors").path
        #expect(FileManager.default.createFile(atPath: target, contents: Data("keep".utf8)))
        let link = folder.appendingPathComponent("link.safetensors").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        var cases: [([String], String)] = [
            (["--save", "/dev/null"], "--save /dev/null is a character device, not a regular file"),
            (["--metrics-out", "/dev/null"], "--metrics-out /dev/null is a character device"),
            (["--save", fifo], "is a FIFO, not a regular file"),
            (["--metrics-out", fifo], "is a FIFO, not a regular file"),
            (["--save", link], "is a symbolic link (to \(target))"),
            (["--save", folder.path], "is a folder, not a regular file"),
            (["--save", folder.appendingPathComponent("missing/run.safetensors").path], "does not exist"),
            (["--save", target + "/x"], "is not a folder"),
            (["--save", target, "--metrics-out", target], "--save and --metrics-out name the same file"),
        ]
        if getuid() == 0 {
            // As root, a device node made here (a copy of /dev/null) must survive too.
            let device = folder.appendingPathComponent("null").path
            #expect(mknod(device, S_IFCHR | 0o666, 1 << 8 | 3) == 0)
            cases.append((["--save", device], "is a character device"))
        }
        for (arguments, message) in cases {
            Self.expect(try CLI.run(["train", "--epochs", "1"] + Self.quick + arguments), status: 1, message, "\(arguments)")
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep", "the link's target is untouched")
        var status = stat()
        #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO, "the FIFO is still a FIFO")
        #expect(lstat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR, "/dev/null is still a device")
    }

    /// An experiment's output folder: a file in its place, or a FIFO where a figure goes, is refused.
    @Test func anExperimentWritesOnlyRegularFilesInAFolder() throws {
        let folder = try Self.folder()
        let file = folder.appendingPathComponent("not-a-folder").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        Self.expect(try CLI.run(["decay-report", "--epochs", "1", "--no-progress", "--out", file]), status: 1,
                    "cannot write \(file): it is not a folder", "--out a file")
        let out = folder.appendingPathComponent("out").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let fifo = out + "/decay-report.csv"
        #expect(mkfifo(fifo, 0o644) == 0)
        Self.expect(try CLI.run(["decay-report", "--epochs", "1", "--no-progress", "--out", out]), status: 1,
                    "it is not a regular file; refusing to replace it", "a FIFO in --out")
        var status = stat()
        #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    }

    // MARK: 4. Losing what was written

    @Test func aResumedRunContinuesItsMetricsAndRefusesOnesThatDoNotMatch() throws {
        let folder = try Self.folder()
        let checkpoint = folder.appendingPathComponent("run.safetensors").path
        let metrics = folder.appendingPathComponent("m.jsonl").path
        #expect(try CLI.run(["train", "--epochs", "1", "--save", checkpoint, "--metrics-out", metrics] + Self.quick).status == 0)
        let rest = try CLI.run(["train", "--resume", checkpoint, "--epochs", "2", "--metrics-out", metrics, "--no-progress"])
        #expect(rest.status == 0, "\(rest.error)")
        let epochs = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["epoch"] as? Int
        }
        #expect(epochs == [1, 2], "the epoch before the resume is kept: \(epochs)")
        let other = folder.appendingPathComponent("other.jsonl").path
        try Data("{\"epoch\":5}\n".utf8).write(to: URL(fileURLWithPath: other))
        Self.expect(try CLI.run(["train", "--resume", checkpoint, "--epochs", "3", "--metrics-out", other, "--no-progress"]),
                    status: 1, "ends at epoch 5, the checkpoint at epoch 2", "mismatched metrics")
    }

    /// Each line reaches a pipe when it is printed, not when the program exits.
    @Test func linesReachAPipeWhileTheRunGoesOn() throws {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["train", "--epochs", "4", "--model", "mlp", "--hidden", "512", "--no-progress"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !text.contains("Epoch 1,"), Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        #expect(text.contains("Epoch 1,"))
        #expect(process.isRunning, "the first epoch's line arrived while the run was still training")
    }

    // MARK: 5. Numbers valid in Double that break in Float, and runs that fail

    @Test func numbersBeyondFloatAndDivergedRunsFail() throws {
        Self.expect(try CLI.run(["train"] + Self.quick + ["--lr", "1e39"]), status: 64, "the largest Float", "--lr 1e39")
        let diverged = try CLI.run(["train", "--epochs", "1"] + Self.quick + ["--lr", "1e30"])
        Self.expect(diverged, status: 1, "the run diverged", "--lr 1e30")
        let skipped = try CLI.run(["train", "--epochs", "1"] + Self.quick + ["--lr", "1e30", "--non-finite", "propagate"])
        Self.expect(skipped, status: 1, "the run diverged", "--lr 1e30 propagating")
    }

    @Test func anEmptyTestSplitIsRefused() throws {
        let folder = try Self.folder()
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Data/mnist")
        for name in ["train-images.idx3-ubyte.gz", "train-labels.idx1-ubyte.gz"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        // IDX headers with no items: images (magic 0x803, 0 × 28 × 28) and labels (magic 0x801, 0).
        try Data([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]).write(to: folder.appendingPathComponent("t10k-images.idx3-ubyte"))
        try Data([0, 0, 8, 1, 0, 0, 0, 0]).write(to: folder.appendingPathComponent("t10k-labels.idx1-ubyte"))
        Self.expect(try CLI.run(["train", "--data-dir", folder.path] + Self.quick), status: 1, "holds none to evaluate on",
                    "empty test split")
    }

    // MARK: 6. Errors that confuse

    static let confusing: [([String], Int32, String)] = [
        (["train", "--data-dir", "/nonexistent/mnist"], 1, "point --data-dir (or ADAMW_DATA_DIR)"),
        (["train", "--scheduler", "onecycle", "--pct-start", "1.5"], 64, "--pct-start must be in [0, 1) (1 leaves no steps to anneal), got 1.5"),
        (["train", "--scheduler", "plateau", "--plateau-factor", "1.5"], 64, "--plateau-factor must be in [0, 1), got 1.5"),
        (["train", "--model", "mlp", "--hidden", "-5"], 64, "--hidden must be positive integers separated by commas, got '-5'"),
        (["train", "--resume", "/nonexistent/run.safetensors"], 1, "--resume /nonexistent/run.safetensors: cannot be read: No such file"),
        (["decay-report", "--data-dir", "/nonexistent/mnist"], 1, "no data file in /nonexistent/mnist"),
    ]

    @Test(arguments: confusing)
    func anErrorNamesTheFlagTheValueAndTheRangeOnce(_ arguments: [String], _ status: Int32, _ message: String) throws {
        let result = try CLI.run(arguments)
        Self.expect(result, status: status, message, "\(arguments)")
        if let path = arguments.first(where: { $0.hasPrefix("/nonexistent") }) {
            #expect(result.error.components(separatedBy: path).count == 2, "the path once: \(result.error)")
        }
    }

    // MARK: 7. The terminal

    /// On a 50-column terminal every redraw of the bar fits in 49 columns.
    @Test func theProgressBarFitsTheTerminal() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", "stty cols 50 rows 20; \(CLI.executable.path) train --epochs 1 --batch-size 500", "/dev/null"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // By scalars: Swift reads "\r\n" as one character.
        let draws = text.components(separatedBy: "\r\u{1B}[2K").dropFirst().map { part in
            String(String.UnicodeScalarView(part.unicodeScalars.prefix { $0 != "\r" && $0 != "\n" }))
        }
        #expect(draws.count > 1, "\(text.prefix(200))")
        for draw in draws where !draw.isEmpty { #expect(draw.count <= 49, "\(draw.count) columns: \(draw)") }
    }
}
