import Checkpoints
import Foundation
import Optim
import Testing

/// `adamw gpt` and `adamw gpt sample` through the command line: the recipe shortened to 200 iterations reaches the
/// loss PyTorch reaches, a run is the same bits on one and two threads, a resume is the same bytes as a straight run,
/// and every bad value is one line naming it.
struct GPTCommandTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A small model that still has two heads, two blocks, dropout, biases, an untied head and accumulation, so
    /// every part of the state (both generators included) must travel for a resume to match.
    static let small = ["--layers", "2", "--heads", "2", "--embedding", "32", "--context", "32", "--batch-size", "4",
                        "--no-progress"]

    @Test func theRecipeShortenedTo200IterationsReachesPyTorchsLoss() throws {
        let result = try CLI.run(["gpt", "--iters", "200", "--eval-interval", "200", "--no-progress"])
        #expect(result.status == 0, "\(result.error)")
        let step = try #require(result.lines.first { $0.hasPrefix("step 200: train loss ") }, "\(result.lines)")
        let train = Double(step.split(separator: " ")[4].dropLast()) ?? .nan
        // PyTorch's train loss after this run is about 2.46 (the issue's figure for its recipe at --iters 200).
        #expect(train < 2.52, "step 200's train loss \(train)")
        let summary = CLI.summary(result)
        #expect(summary["iters"] == "200" && summary["params"] == "804096", "\(summary)")
        #expect((Double(summary["val_loss"] ?? "") ?? .nan) < 2.55, "\(summary)")
        // The 300-character sample sits between the last evaluation and the timing line.
        let sample = result.output.components(separatedBy: step + "\n").last?.components(separatedBy: "\ntiming ").first ?? ""
        let timing = try #require(result.lines.first { $0.hasPrefix("timing ") })
        for key in ["forward_ms=", "backward_ms=", "step_ms=", "step_share=", "forward_gflops=", "backward_gflops=", "gflop_per_iter=3.97"] {
            #expect(timing.contains(key), "\(timing)")
        }
        #expect(sample.unicodeScalars.count == 300, "\(sample.unicodeScalars.count) characters: \(sample)")
    }

    @Test func aRunIsTheSameBitsOnOneAndTwoThreads() throws {
        let folder = try Self.folder()
        var checkpoints: [Data] = []
        var outputs: [[String]] = []
        for threads in ["1", "2"] {
            let path = folder.appendingPathComponent("t\(threads).safetensors").path
            let result = try CLI.run(["gpt", "--iters", "6", "--eval-interval", "3", "--dropout", "0.1", "--bias",
                                      "--threads", threads, "--save", path, "--no-progress"])
            #expect(result.status == 0, "\(result.error)")
            checkpoints.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            outputs.append(result.lines.filter { !$0.hasPrefix("summary ") && !$0.hasPrefix("timing ") })
        }
        #expect(checkpoints[0] == checkpoints[1], "the checkpoints differ between 1 and 2 threads")
        #expect(outputs[0] == outputs[1])
    }

    @Test(arguments: [["--accumulate", "2", "--dropout", "0.2", "--bias", "--no-tie"],
                      ["--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05"],
                      ["--optimizer", "adam", "--decay-all", "--clip-norm", "0"],
                      ["--optimizer", "adamw-schedulefree", "--warmup", "3", "--dropout", "0.1"],
                      ["--decay-to", "initial", "--weight-decay", "1", "--bias"]])
    func aResumeIsTheSameBytesAsAStraightRun(_ extra: [String]) throws {
        let folder = try Self.folder()
        let straight = folder.appendingPathComponent("straight.safetensors").path
        let resumed = folder.appendingPathComponent("resumed.safetensors").path
        let metrics = folder.appendingPathComponent("metrics.jsonl").path
        let options = Self.small + extra + ["--eval-interval", "4", "--seed", "5"]
        let whole = try CLI.run(["gpt", "--iters", "8", "--save", straight] + options)
        #expect(whole.status == 0, "\(whole.error)")
        let half = try CLI.run(["gpt", "--iters", "4", "--lr-decay-iters", "8", "--save", resumed, "--metrics-out", metrics] + options)
        #expect(half.status == 0, "\(half.error)")
        let rest = try CLI.run(["gpt", "--resume", resumed, "--metrics-out", metrics, "--no-progress", "--eval-interval", "4"])
        #expect(rest.status == 0, "\(rest.error)")
        #expect(rest.lines.first == "Resumed from \(resumed) at iteration 4", "\(rest.lines)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: straight)) == Data(contentsOf: URL(fileURLWithPath: resumed)),
                "4 + 4 iterations are not 8 byte for byte")
        #expect(whole.lines.filter { $0.hasPrefix("step 8:") } == rest.lines.filter { $0.hasPrefix("step 8:") })
        let records = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n")
        #expect(records.count == 2 && records[1].contains("\"iter\":8"), "\(records)")
        // Nothing left to train is said, not an error.
        let again = try CLI.run(["gpt", "--resume", resumed, "--no-progress"])
        #expect(again.status == 0 && again.output.contains("already at iteration 8"), "\(again.output)\(again.error)")
    }

    @Test func theCheckpointIsANanoGPTModelAndSamples() throws {
        let folder = try Self.folder()
        let path = folder.appendingPathComponent("run.safetensors").path
        let result = try CLI.run(["gpt", "--iters", "2", "--save", path] + Self.small)
        #expect(result.status == 0, "\(result.error)")
        let state = try CheckpointFile.read(path)
        let expected = ["n_layer": "2", "n_head": "2", "n_embd": "32", "block_size": "32", "vocab_size": "65",
                        "bias": "false", "dropout": "0.0"]
        for (key, value) in expected { #expect(state.metadata[key] == value, "\(key): \(state.metadata[key] ?? "missing")") }
        #expect(state.metadata["vocabulary"]?.hasPrefix("\"\\n !$&'") == true, "\(state.metadata["vocabulary"] ?? "")")
        for name in ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.1.attn.c_attn.weight",
                     "transformer.h.0.mlp.c_proj.weight", "transformer.ln_f.weight", "lm_head.weight"] {
            #expect(state.tensors[name] != nil, "\(name) missing")
        }
        #expect(state.tensors["lm_head.weight"] == state.tensors["transformer.wte.weight"], "the tied head is the embedding")
        #expect(state.tensors.keys.contains { $0.hasPrefix("optimizer.") })

        let sample = try CLI.run(["gpt", "sample", "--checkpoint", path, "--prompt", "ROMEO:", "--tokens", "40", "--seed", "3"])
        #expect(sample.status == 0, "\(sample.error)")
        #expect(sample.output.hasPrefix("ROMEO:") && sample.output.unicodeScalars.count == 6 + 40 + 1, "\(sample.output)")
        let same = try CLI.run(["gpt", "sample", "--checkpoint", path, "--prompt", "ROMEO:", "--tokens", "40", "--seed", "3"])
        #expect(same.output == sample.output, "the same seed gives the same text")
        let greedy = try CLI.run(["gpt", "sample", "--checkpoint", path, "--tokens", "20", "--top-k", "1"])
        #expect(greedy.status == 0 && greedy.output.unicodeScalars.count == 1 + 20 + 1, "\(greedy.output)")

        let unknown = try CLI.run(["gpt", "sample", "--checkpoint", path, "--prompt", "JULIET€"])
        #expect(unknown.status == 1 && unknown.error.contains("\"€\" is not in the vocabulary"), "\(unknown.error)")
        let mnist = folder.appendingPathComponent("mnist.safetensors").path
        #expect(try CLI.run(["train", "--epochs", "1", "--train-samples", "64", "--no-progress", "--save", mnist]).status == 0)
        let notGPT = try CLI.run(["gpt", "sample", "--checkpoint", mnist])
        #expect(notGPT.status == 1 && notGPT.error.contains("n_layer is missing"), "\(notGPT.error)")
        let resumeMNIST = try CLI.run(["gpt", "--resume", mnist, "--no-progress"])
        #expect(resumeMNIST.status == 1 && resumeMNIST.error.contains("no readable GPT recipe"), "\(resumeMNIST.error)")
        for (flag, value) in [("--tokens", "-1"), ("--temperature", "0"), ("--temperature", "nan"), ("--top-k", "0"), ("--prompt", "")] {
            let refused = try CLI.run(["gpt", "sample", "--checkpoint", path, flag, value])
            #expect(refused.status == 64 && refused.error.contains(flag), "\(flag) \(value): \(refused.error)")
        }
    }

    @Test func aResumeOnAnotherTextIsRefused() throws {
        let folder = try Self.folder()
        let path = folder.appendingPathComponent("run.safetensors").path
        #expect(try CLI.run(["gpt", "--iters", "1", "--save", path] + Self.small).status == 0)
        let text = folder.appendingPathComponent("other.txt")
        try Data(String(repeating: "To be, or not to be: that is the question.\n", count: 40).utf8).write(to: text)
        let refused = try CLI.run(["gpt", "--resume", path, "--data", text.path, "--iters", "2", "--no-progress"])
        #expect(refused.status == 1 && refused.error.contains("trained on another text"), "\(refused.error)")
    }

    @Test func everyBadValueIsOneLineNamingIt() throws {
        let cases: [([String], Int32, String)] = [
            (["--iters", "0"], 64, "--iters"), (["--layers", "0"], 64, "--layers"),
            (["--embedding", "30", "--heads", "4"], 64, "multiple of --heads"),
            (["--dropout", "1"], 64, "--dropout"), (["--dropout", "-0.1"], 64, "--dropout"),
            (["--context", "0"], 64, "--context"), (["--batch-size", "0"], 64, "--batch-size"),
            (["--accumulate", "0"], 64, "--accumulate"), (["--warmup", "-1"], 64, "--warmup"),
            (["--lr-decay-iters", "0"], 64, "--lr-decay-iters"), (["--min-lr", "-1"], 64, "--min-lr"),
            (["--clip-norm", "-1"], 64, "--clip-norm"), (["--lr", "-1"], 64, "--lr: invalid learning rate"),
            (["--betas", "0.9"], 64, "--betas"), (["--optimizer", "sgd", "--betas", "0.9,0.99"], 64, "--betas"),
            (["--eval-interval", "0"], 64, "--eval-interval"), (["--threads", "0"], 64, "--threads"),
            (["--layers", "1000", "--embedding", "65536", "--heads", "1"], 64, "this machine has"),
            (["--data", "/nonexistent/text.txt"], 1, "/nonexistent/text.txt"),
        ]
        for (arguments, status, message) in cases {
            let result = try CLI.run(["gpt", "--no-progress"] + arguments)
            #expect(result.status == status && result.error.contains(message), "\(arguments): \(result.status) \(result.error)")
            #expect(result.error.split(separator: "\n").first?.contains(message) == true, "\(arguments): \(result.error)")
        }
        let folder = try Self.folder()
        let short = folder.appendingPathComponent("short.txt")
        try Data(String(repeating: "abc", count: 30).utf8).write(to: short)
        let refused = try CLI.run(["gpt", "--data", short.path, "--no-progress"])
        #expect(refused.status == 1 && refused.error.contains("too short for a context of 64"), "\(refused.error)")
        let long = try CLI.run(["gpt", "--data", short.path, "--context", "20", "--no-progress"])
        #expect(long.status == 1 && long.error.contains("--context at most 8"), "\(long.error)")
    }
}
