import Checkpoints
import Foundation
import Testing
import TestSupport
import Training

/// `adamw gpt train --from-pretrained`: fine-tuning a Hugging Face GPT-2 folder on a text in its BPE, resuming
/// bit-exactly, writing the model back as a folder, sampling from either; and one line for what it cannot do.
struct GPT2FineTuneTests {
    static var tiny: String { Fixtures.referenceDirectory.appendingPathComponent("gpt2_tiny").path }

    /// A folder of its own and a slice of Tiny Shakespeare (about 1,500 GPT-2 tokens) to fine-tune on.
    static func setUp() throws -> (folder: URL, text: String) {
        let folder = try GPTCommandTests.folder()
        let shakespeare = try String(contentsOfFile: "Data/tinyshakespeare/input.txt", encoding: .utf8)
        let text = folder.appendingPathComponent("slice.txt").path
        try String(shakespeare.unicodeScalars.dropFirst(100_000).prefix(6000)).write(toFile: text, atomically: true, encoding: .utf8)
        return (folder, text)
    }

    static let options = ["--context", "16", "--batch-size", "2", "--warmup", "1", "--eval-interval", "3", "--no-progress"]

    /// 3 + 3 iterations (int8 states, two micro-batches a step, clipping) are 6 byte for byte; the folder written at
    /// the end holds the checkpoint's weights, and a sample from either is the same text.
    @Test func aFineTuneResumesAsAStraightRunAndIsWrittenAsAFolder() throws {
        let (folder, text) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = { (name: String) in folder.appendingPathComponent(name).path }
        let run = ["gpt", "--from-pretrained", Self.tiny, "--data", text, "--states", "int8", "--accumulate", "2"] + Self.options
        let whole = try CLI.run(run + ["--iters", "6", "--save", path("straight.safetensors"), "--save-pretrained", path("export")])
        #expect(whole.status == 0, "\(whole.error)")
        #expect(whole.lines.contains("Saved the model as a Hugging Face GPT-2 folder: \(path("export"))"))
        let first = try CLI.run(run + ["--iters", "3", "--lr-decay-iters", "6", "--save", path("half.safetensors")])
        #expect(first.status == 0, "\(first.error)")
        let rest = try CLI.run(["gpt", "--resume", path("half.safetensors"), "--data", text, "--eval-interval", "3", "--no-progress"])
        #expect(rest.status == 0, "\(rest.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("straight.safetensors"))) == Data(contentsOf: URL(fileURLWithPath: path("half.safetensors"))),
                "3 + 3 iterations of fine-tuning are not 6 byte for byte")

        let state = try CheckpointFile.read(path("straight.safetensors"))
        #expect(state.metadata["tokenizer"] == "gpt2-bpe" && state.metadata["vocab_size"] == "50257" && state.metadata["block_size"] == "64")
        let exported = try HuggingFaceGPT2.load(directory: path("export"))
        for (name, tensor) in exported.stateDict().tensors {
            #expect(state.tensors[name]?.values == tensor.values, "\(name)")
        }
        let fromCheckpoint = try CLI.run(["gpt", "sample", "--checkpoint", path("straight.safetensors"), "--prompt", "ROMEO:", "--tokens", "12"])
        let fromFolder = try CLI.run(["gpt", "sample", "--from-pretrained", path("export"), "--prompt", "ROMEO:", "--tokens", "12"])
        #expect(fromCheckpoint.status == 0 && fromFolder.status == 0, "\(fromCheckpoint.error) \(fromFolder.error)")
        #expect(fromCheckpoint.output.hasPrefix("ROMEO:") && fromCheckpoint.output == fromFolder.output)
    }

    /// A random GPT-2 of GPT-2's BPE from scratch: its shape flags apply, its positions are GPT-2's 1024.
    @Test func aRandomGPT2TrainsOnGPT2Tokens() throws {
        let (folder, text) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("small.safetensors").path
        let result = try CLI.run(["gpt", "--tokenizer", "gpt2", "--layers", "1", "--heads", "2", "--embedding", "16", "--iters", "3",
                                  "--data", text, "--save", checkpoint] + Self.options)
        #expect(result.status == 0, "\(result.error)")
        let state = try CheckpointFile.read(checkpoint)
        #expect(state.metadata["tokenizer"] == "gpt2-bpe" && state.metadata["block_size"] == "1024" && state.metadata["bias"] == "true")
        #expect(state.metadata["gelu"] == "tanh")
    }

    /// Each refusal is one line naming the flag or file, with no checkpoint written.
    @Test func whatCannotBeDoneIsRefused() throws {
        let (folder, text) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = { (name: String) in folder.appendingPathComponent(name).path }
        let base = ["gpt", "--from-pretrained", Self.tiny, "--data", text, "--iters", "1"] + Self.options
        func refusal(_ arguments: [String], status: Int32, says words: String) throws {
            let result = try CLI.run(arguments)
            #expect(result.status == status, "\(arguments): \(result.error)")
            #expect(result.error.contains(words), "\(arguments): \(result.error)")
        }
        try refusal(base + ["--layers", "3"], status: 64, says: "--layers cannot be given with --from-pretrained")
        try refusal(base + ["--tokenizer", "characters"], status: 64, says: "--tokenizer characters cannot be given with --from-pretrained")
        try refusal(base.map { $0 == "16" ? "65" : $0 }, status: 64, says: "--context must be at most the model's n_positions (64)")
        try refusal(["gpt", "--data", text, "--iters", "1", "--save-pretrained", path("out"), "--layers", "1", "--heads", "2", "--embedding", "16"] + Self.options,
                    status: 1, says: "--save-pretrained writes a GPT-2 folder")
        try FileManager.default.createDirectory(atPath: path("busy"), withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: path("busy/notes.txt")))
        try refusal(base + ["--save-pretrained", path("busy")], status: 64, says: "holds notes.txt")
        try refusal(base + ["--save-pretrained", Self.tiny], status: 64, says: "holds generation_config.json")
        try refusal(base + ["--save", path("busy/model.safetensors"), "--save-pretrained", path("busy")], status: 64, says: "holds notes.txt")
        try FileManager.default.createDirectory(atPath: path("mine"), withIntermediateDirectories: true)
        try refusal(base + ["--save", path("mine/model.safetensors"), "--save-pretrained", path("mine")], status: 64,
                    says: "would replace \(path("mine/model.safetensors")), which --save names")

        // A folder that is not GPT-2's, or lacks a tensor.
        let broken = path("broken")
        try FileManager.default.copyItem(atPath: Self.tiny, toPath: broken)
        let config = broken + "/config.json"
        let llama = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "\"gpt2\"", with: "\"llama\"")
        try llama.write(toFile: config, atomically: true, encoding: .utf8)
        try refusal(base.map { $0 == Self.tiny ? broken : $0 }, status: 1, says: "model_type is llama")
        try refusal(["gpt", "--from-pretrained", path("nowhere"), "--data", text] + Self.options, status: 1, says: "no such file")

        // A BPE checkpoint resumed with other tokenizer files.
        let checkpoint = path("run.safetensors")
        #expect(try CLI.run(base + ["--save", checkpoint]).status == 0)
        let other = path("other-tokenizer")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.tiny + "/vocab.json", toPath: other + "/vocab.json")
        let merges = try String(contentsOfFile: Self.tiny + "/merges.txt", encoding: .utf8)
        // The same merges less the last ten: a tokenizer of its own, with another fingerprint.
        try merges.split(separator: "\n").dropLast(10).joined(separator: "\n").write(toFile: other + "/merges.txt", atomically: true, encoding: .utf8)
        try refusal(["gpt", "--resume", checkpoint, "--data", text, "--iters", "2", "--tokenizer", other, "--no-progress"],
                    status: 1, says: "not the ones the model was trained with")
        try refusal(["gpt", "sample", "--checkpoint", checkpoint, "--tokenizer", other], status: 1, says: "not the ones the model was trained with")
        try refusal(["gpt", "--init-from", checkpoint, "--data", text, "--iters", "1", "--no-progress"], status: 1,
                    says: "is a checkpoint of GPT-2's BPE: write its model with --save-pretrained")
    }
}
