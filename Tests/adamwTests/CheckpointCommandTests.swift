import Checkpoints
import Foundation
import Optim
import TestSupport
import Testing

/// --save, --resume, the schedules and gradient accumulation, through the command line.
struct CheckpointCommandTests {
    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A quick run: a small MLP (so ReLU, two layers and the optimizer's state all travel), big batches.
    static let quick = ["--no-progress", "--batch-size", "500", "--model", "mlp", "--hidden", "16"]

    /// Every schedule's state travels: two epochs straight and one plus a resume give the same bytes. A run
    /// without a spanning schedule needs no --schedule-epochs for that.
    @Test(arguments: [
        ["--scheduler", "cosine", "--schedule-epochs", "2"],
        ["--scheduler", "warmup-cosine", "--schedule-epochs", "2", "--warmup-steps", "30"],
        ["--scheduler", "onecycle", "--schedule-epochs", "2"],
        ["--scheduler", "plateau", "--plateau-patience", "0", "--plateau-factor", "0.5"],
        ["--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9"],
        ["--optimizer", "rmsprop", "--lr", "0.001", "--momentum", "0.5", "--centered"],
        ["--optimizer", "adagrad", "--lr", "0.05", "--lr-decay", "0.01", "--initial-accumulator-value", "0.1"],
        ["--optimizer", "adamw-schedulefree", "--lr", "0.005", "--warmup-steps", "20", "--r", "0.5",
         "--weight-lr-power", "1"],
        ["--decay-to", "initial", "--weight-decay", "0.5", "--states", "int8"],
        ["--optimizer", "adamw-schedulefree", "--states", "int8"],
    ])
    func twoEpochsStraightAndOnePlusAResumeGiveTheSameBytes(_ schedule: [String]) throws {
        let folder = try Self.directory()
        let straight = folder.appendingPathComponent("straight.safetensors").path
        let resumed = folder.appendingPathComponent("resumed.safetensors").path
        let options = Self.quick + schedule + ["--seed", "4"]
        let first = try CLI.run(["train", "--epochs", "2", "--save", straight] + options)
        #expect(first.status == 0, "\(first.error)")
        let half = try CLI.run(["train", "--epochs", "1", "--save", resumed] + options)
        #expect(half.status == 0, "\(half.error)")
        let rest = try CLI.run(["train", "--resume", resumed, "--epochs", "2", "--no-progress"])
        #expect(rest.status == 0, "\(rest.error)")
        #expect(rest.lines.first == "Resumed from \(resumed) at epoch 1" && rest.lines.contains { $0.hasPrefix("Epoch 2, Loss:") })
        #expect(try Data(contentsOf: URL(fileURLWithPath: straight)) == Data(contentsOf: URL(fileURLWithPath: resumed)),
                "byte-identical checkpoints")
        #expect(first.lines.filter { $0.hasPrefix("Epoch 2") } == rest.lines.filter { $0.hasPrefix("Epoch 2") })
        let state = try CheckpointFile.read(straight)
        #expect(state.metadata["epoch"] == "2" && state.metadata["step"] == "240")
        #expect(state.tensors["model.layers.1.weight"]?.shape == [16, 784])
        let (type, buffer) = schedule.contains("sgd") ? ("SGD", "momentum_buffer")
            : schedule.contains("rmsprop") ? ("RMSprop", "grad_avg")
            : schedule.contains("adagrad") ? ("Adagrad", "sum")
            : schedule.contains("adamw-schedulefree") ? ("AdamWScheduleFree", "z") : ("AdamW", "exp_avg")
        #expect(state.metadata["optimizer.type"] == type)
        // Schedule-Free's run saves its model at the eval values (the average), as it evaluated it.
        #expect(state.metadata["optimizer.mode"] == (type == "AdamWScheduleFree" ? "eval" : nil))
        #expect(state.tensors["optimizer.state.layers.1.weight.\(buffer)"]?.shape
                == (schedule.contains("int8") && type == "AdamW" ? [16 * 784] : [16, 784]),
                "8-bit codes are stored flat (Schedule-Free's z, a copy of the weights, is float32)")
        // Decay toward the initial weights keeps them as float32 state, whatever the moments' storage.
        #expect((state.tensors["optimizer.state.layers.1.weight.decay_reference"]?.shape == [16, 784])
                == schedule.contains("--decay-to"))
    }

    /// A resumed run with a schedule that spans epochs continues to the schedule's end when --epochs is not given.
    @Test func aResumeWithoutEpochsRunsToTheEndOfItsSchedule() throws {
        let path = try Self.directory().appendingPathComponent("cycle.safetensors").path
        let first = try CLI.run(["train", "--epochs", "1", "--scheduler", "onecycle", "--schedule-epochs", "2",
                                 "--save", path] + Self.quick)
        #expect(first.status == 0, "\(first.error)")
        let rest = try CLI.run(["train", "--resume", path, "--no-progress"])
        #expect(rest.status == 0, "\(rest.error)")
        #expect(CLI.summary(rest)["epochs"] == "2")
        let beyond = try CLI.run(["train", "--resume", path, "--epochs", "3", "--no-progress"])
        #expect(beyond.status != 0 && beyond.error.contains("--epochs 3 goes past the onecycle schedule of 2 epochs"))
    }

    /// Steps whose gradients overflow are skipped and counted. A run that diverges ends at the epoch whose loss is
    /// not finite, with one line and status 1 (not 0 with a meaningless accuracy), reporting its skipped steps and
    /// keeping the last checkpoint whose loss was finite: here there is none, so nothing is written.
    @Test func skippedStepsAreReportedAndADivergedRunWritesNoCheckpoint() throws {
        let path = try Self.directory().appendingPathComponent("nan.safetensors").path
        let first = try CLI.run(["train", "--epochs", "2", "--lr", "1e38", "--scheduler", "plateau", "--save", path]
                                + Self.quick)
        #expect(first.status == 1 && first.error.contains("the run diverged at epoch 1"), "\(first.error)")
        #expect(first.error.contains("no checkpoint was written"), "\(first.error)")
        let skipped = first.lines.first { $0.hasPrefix("Skipped steps (non-finite gradients): ") }
        #expect((skipped?.split(separator: " ").last.flatMap { Int($0) } ?? 0) > 0, "\(first.lines)")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aRefusedCheckpointExitsWithStatusOneAndOneLine() throws {
        let folder = try Self.directory()
        let good = folder.appendingPathComponent("good.safetensors")
        #expect(try CLI.run(["train", "--epochs", "1", "--save", good.path] + Self.quick).status == 0)
        let bytes = try [UInt8](Data(contentsOf: good))
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x10
        let variants: [(String, [UInt8], String)] = [
            ("flipped", flipped, "checksum mismatch"),
            ("truncated", Array(bytes.prefix(bytes.count - 100)), "truncated file"),
            ("text", Array("not a checkpoint".utf8), "is above the 100 MB limit"),
        ]
        for (name, content, reason) in variants {
            let path = folder.appendingPathComponent("\(name).safetensors").path
            try Data(content).write(to: URL(fileURLWithPath: path))
            let result = try CLI.run(["train", "--resume", path, "--epochs", "2", "--no-progress"])
            #expect(result.status == 1, "\(name)")
            let lines = result.error.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("Error: --resume \(path): ") && lines[0].contains(reason),
                    "\(name): \(result.error)")
            #expect(result.output.isEmpty, "\(name): nothing trained")
        }
        let missing = try CLI.run(["train", "--resume", folder.appendingPathComponent("none").path, "--no-progress"])
        #expect(missing.status == 1 && missing.error.contains("cannot be read"))
        let options = try CLI.run(["train", "--resume", good.path, "--lr", "0.1"])
        #expect(options.status != 0 && options.error.contains("--lr cannot be given with --resume"))
        let done = try CLI.run(["train", "--resume", good.path, "--epochs", "1", "--no-progress"])
        #expect(done.status == 0 && done.output.contains("already at epoch 1"))
    }

    /// Accumulating k micro-batches equals one batch k times larger: 4 × 100 against 400 (150 steps), and
    /// 7 × 500 against 3500, where 120 micro-batches leave a last group of one that must equal the last batch of
    /// 500 (18 steps).
    @Test(arguments: [(100, 4, "150"), (500, 7, "18")])
    func accumulatingMicroBatchesEqualsOneLargerBatch(_ batch: Int, _ accumulate: Int, _ steps: String) throws {
        let large = try Self.oneEpoch(["--batch-size", "\(batch * accumulate)"])
        let small = try Self.oneEpoch(["--batch-size", "\(batch)", "--accumulate", "\(accumulate)"])
        for name in ["model.layers.1.weight", "model.layers.1.bias"] {
            let x = try #require(large.tensors[name]?.values), y = try #require(small.tensors[name]?.values)
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-5, "\(name): largest difference \(worst)")
        }
        #expect(large.metadata["step"] == steps && small.metadata["step"] == steps)
        #expect(small.metadata["optimizer.state.layers.1.weight.step"] == steps)
    }

    /// The checkpoint after one epoch of the default job with `options`.
    static func oneEpoch(_ options: [String]) throws -> StateDict {
        let path = try directory().appendingPathComponent("run.safetensors").path
        let result = try CLI.run(["train", "--epochs", "1", "--no-progress", "--save", path] + options)
        #expect(result.status == 0, "\(options): \(result.error)")
        return try CheckpointFile.read(path)
    }

    /// Each schedule's learning rate at the end of one epoch (120 steps): its last value.
    @Test(arguments: [
        (["--scheduler", "onecycle", "--pct-start", "0.25"], 0.0...1e-6),
        (["--scheduler", "warmup-cosine", "--warmup-steps", "10", "--min-lr", "1e-5"], (1e-5 - 1e-9)...(1e-5 + 1e-9)),
        (["--scheduler", "cosine"], 0.0...1e-9),
        (["--scheduler", "plateau", "--plateau-patience", "0", "--plateau-factor", "0.5"], 1e-3...1e-3),
        (["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--scheduler", "onecycle"], 0.0...1e-4),
        (["--clip-norm", "1", "--non-finite", "throw"], 1e-3...1e-3),
    ] as [([String], ClosedRange<Double>)])
    func schedulesEndWhereTheyShould(_ options: [String], _ expected: ClosedRange<Double>) throws {
        let metrics = try Self.directory().appendingPathComponent("m.jsonl")
        let result = try CLI.run(["train", "--epochs", "1", "--batch-size", "500", "--no-progress",
                                  "--metrics-out", metrics.path] + options)
        #expect(result.status == 0, "\(options): \(result.error)")
        let line = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
        let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let lr = try #require(record?["lr"] as? Double)
        #expect(expected.contains(lr), "\(options): lr at the end of the schedule \(lr)")
        #expect(Double(CLI.summary(result)["accuracy"] ?? "") ?? 0 > 75)
    }

    /// Checkpoints written before options were declared per optimizer (kept in Tests/Fixtures/checkpoints-v1,
    /// written by that build: `adamw train --epochs 1 --train-samples 2000 --save …`, and for SGD
    /// `--optimizer sgd --momentum 0.9 --lr 0.01 --scheduler cosine --schedule-epochs 2`) resume, and the second
    /// epoch prints what that build printed for two epochs straight.
    @Test(arguments: [
        ("train-linear-adamw-epoch1.safetensors", "Epoch 2, Loss: 1.2052", "Test Accuracy: 79.10%"),
        ("train-linear-sgd-cosine-epoch1.safetensors", "Epoch 2, Loss: 1.0398", "Test Accuracy: 78.26%"),
    ])
    func aCheckpointOfTheFirstFormatResumesAsThatBuildWouldHaveContinued(
        _ file: String, _ loss: String, _ accuracy: String
    ) throws {
        let copy = try Self.directory().appendingPathComponent(file).path
        try FileManager.default.copyItem(
            atPath: Fixtures.repositoryDirectory("checkpoints-v1").appendingPathComponent(file).path, toPath: copy)
        let rest = try CLI.run(["train", "--resume", copy, "--epochs", "2", "--no-progress"])
        #expect(rest.status == 0, "\(rest.error)")
        #expect(rest.lines.contains(loss) && rest.lines.contains(accuracy), "\(rest.output)")
        let saved = try CheckpointFile.read(copy)
        #expect(saved.metadata["optimizer.format"] == "3", "the continued run is saved in the current format")
    }

    @Test func aCheckpointOfAnUnknownFormatIsRefusedByItsVersion() throws {
        let path = try Self.directory().appendingPathComponent("future.safetensors").path
        let first = try CLI.run(["train", "--epochs", "1", "--save", path] + Self.quick)
        #expect(first.status == 0, "\(first.error)")
        var state = try CheckpointFile.read(path)
        state.metadata["optimizer.format"] = "7"
        try CheckpointFile.write(state, to: path)
        let rest = try CLI.run(["train", "--resume", path, "--epochs", "2", "--no-progress"])
        #expect(rest.status == 1)
        #expect(rest.error.contains("the optimizer state is format version 7; this build reads versions 1 to 3"),
                "\(rest.error)")
    }
}
