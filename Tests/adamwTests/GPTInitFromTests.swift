import Checkpoints
import Foundation
import Optim
import Testing

/// `adamw gpt --init-from`: fine-tuning a saved model on a new text, in the model's vocabulary, with decay toward
/// its weights when asked; a fine-tuning run resumes as any other, and what it cannot do is refused in one line.
struct GPTInitFromTests {
    /// A small model saved after a few iterations on Tiny Shakespeare, and a slice of the text to fine-tune on.
    static func base() throws -> (folder: URL, checkpoint: String, text: String) {
        let folder = try GPTCommandTests.folder()
        let checkpoint = folder.appendingPathComponent("base.safetensors").path
        let result = try CLI.run(["gpt", "--iters", "4", "--eval-interval", "4", "--save", checkpoint] + GPTCommandTests.small)
        #expect(result.status == 0, "\(result.error)")
        let shakespeare = try String(contentsOfFile: "Data/tinyshakespeare/input.txt", encoding: .utf8)
        let text = folder.appendingPathComponent("slice.txt").path
        try String(shakespeare.unicodeScalars.dropFirst(200_000).prefix(6000)).write(toFile: text, atomically: true, encoding: .utf8)
        return (folder, checkpoint, text)
    }

    /// The weights of a checkpoint's model (its top-level tensors), by name.
    static func weights(_ path: String) throws -> [String: [Float]] {
        try CheckpointFile.read(path).tensors.filter { !$0.key.hasPrefix("optimizer.") }.mapValues { $0.values.array }
    }

    /// The squared distance between two models' weights.
    static func distance(_ a: [String: [Float]], _ b: [String: [Float]]) -> Double {
        var total = 0.0
        for (name, values) in a {
            for (x, y) in zip(values, b[name] ?? []) {
                let difference = Double(x) - Double(y)
                total += difference * difference
            }
        }
        return total
    }

    @Test func aFineTuneStartsFromTheModelAndResumesAsAStraightRun() throws {
        let (folder, base, text) = try Self.base()
        let straight = folder.appendingPathComponent("straight.safetensors").path
        let half = folder.appendingPathComponent("half.safetensors").path
        let options = ["gpt", "--init-from", base, "--data", text, "--lr", "0.003", "--warmup", "1", "--eval-interval", "3",
                       "--no-progress", "--decay-to", "initial"]
        let whole = try CLI.run(options + ["--iters", "6", "--save", straight])
        #expect(whole.status == 0, "\(whole.error)")
        let first = try CLI.run(options + ["--iters", "3", "--lr-decay-iters", "6", "--save", half])
        #expect(first.status == 0, "\(first.error)")
        let rest = try CLI.run(["gpt", "--resume", half, "--data", text, "--eval-interval", "3", "--no-progress"])
        #expect(rest.status == 0, "\(rest.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: straight)) == Data(contentsOf: URL(fileURLWithPath: half)),
                "3 + 3 iterations of fine-tuning are not 6 byte for byte")
        // The fine-tuned model keeps the pretrained model's shape and vocabulary, and its references are the
        // pretrained weights (the matrices: biases and LayerNorm weights are not decayed).
        let state = try CheckpointFile.read(straight), pretrained = try CheckpointFile.read(base)
        #expect(state.metadata["vocabulary"] == pretrained.metadata["vocabulary"])
        #expect(state.metadata["n_layer"] == "2" && state.metadata["n_embd"] == "32")
        let reference = try #require(state.tensors["optimizer.state.transformer.h.0.attn.c_attn.weight.decay_reference"])
        #expect(reference.values.array == pretrained.tensors["transformer.h.0.attn.c_attn.weight"]?.values.array)
        #expect(state.tensors["optimizer.state.transformer.ln_f.weight.decay_reference"] == nil)
    }

    /// With strong decay, decay toward the pretrained weights keeps the model near them; decay toward zero pulls it away.
    @Test func decayTowardTheInitialWeightsStaysNearThem() throws {
        let (folder, base, text) = try Self.base()
        var distances: [String: Double] = [:]
        for target in ["initial", "zero"] {
            let path = folder.appendingPathComponent("\(target).safetensors").path
            let result = try CLI.run(["gpt", "--init-from", base, "--data", text, "--iters", "6", "--eval-interval", "6",
                                      "--lr", "0.0001", "--weight-decay", "500", "--warmup", "0", "--decay-to", target,
                                      "--save", path, "--no-progress"])
            #expect(result.status == 0, "\(result.error)")
            distances[target] = Self.distance(try Self.weights(path), try Self.weights(base))
        }
        let initial = try #require(distances["initial"]), zero = try #require(distances["zero"])
        #expect(initial * 4 < zero, "toward the initial weights \(initial), toward zero \(zero)")
    }

    @Test func whatAFineTuneCannotDoIsRefusedInOneLine() throws {
        let (folder, base, _) = try Self.base()
        let accented = folder.appendingPathComponent("accented.txt").path
        try String(repeating: "déjà vu, a text with characters the model has never seen\n", count: 4)
            .write(toFile: accented, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--init-from", base, "--layers", "3"], "--layers cannot be given with --init-from: the model's shape is the checkpoint's"),
            (["--init-from", base, "--data", accented], "the character \"é\" is not in the vocabulary of the --init-from checkpoint"),
            (["--init-from", base, "--resume", base], "--init-from cannot be given with --resume"),
            (["--init-from", folder.appendingPathComponent("none.safetensors").path], "--init-from "),
            (["--init-from", base, "--save", base], "--save"),
        ]
        for (arguments, message) in cases {
            let result = try CLI.run(["gpt", "--iters", "2", "--no-progress"] + arguments)
            #expect(result.status != 0 && result.error.contains(message), "\(arguments): \(result.error)")
        }
    }
}
