import Checkpoints
import Foundation
import Kernels
import NN
import Optim
import Testing
import TestSupport
import Training

/// A Hugging Face GPT-2 directory read into the GPT and written back, and a fine-tune of it against PyTorch's.
struct HuggingFaceGPT2Tests {
    static var tinyDirectory: String { Fixtures.referenceDirectory.appendingPathComponent("gpt2_tiny").path }

    /// The tensors of a safetensors file.
    static func tensors(_ path: String) throws -> [String: StateDict.TensorData] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.withUnsafeBytes { raw in try SafeTensors.decode(raw).tensors }
    }

    /// Every case of `gpt2_finetune.json`: the tiny directory loaded, then per step the lr, the loss of the batch,
    /// backward, clipping, AdamW over nanoGPT's two groups; the losses, step 0's logits and gradients, and the
    /// final weights, in Hugging Face's names and layout, within the reference's tolerances.
    @Test func aFineTuneMatchesPyTorchs() throws {
        let file = "gpt2_finetune.json"
        for reference in try Fixtures.cases(file) {
            try rejectUnknownKeys(of: reference, understood: ["name", "model_dir", "config", "training", "batches", "lr_per_step",
                                                              "loss_per_step", "logits_step0_row0_first4x8", "expected"], in: file)
            let training = try #require(reference["training"] as? [String: Any])
            try rejectUnknownKeys(of: training, understood: ["batch_size", "context", "steps", "lr", "warmup", "weight_decay", "betas",
                                                             "eps", "clip_norm", "optimizer", "decay"], in: "\(file) training")
            #expect(training["optimizer"] as? String == "AdamW" && training["decay"] as? String == "parameters with 2 or more dimensions")
            let directory = Fixtures.referenceDirectory.appendingPathComponent(try #require(reference["model_dir"] as? String)).path
            let model = try HuggingFaceGPT2.load(directory: directory)
            let config = try #require(reference["config"] as? [String: Int])
            try rejectUnknownKeys(of: config, understood: ["n_positions", "n_embd", "n_layer", "n_head"], in: "\(file) config")
            let c = model.configuration
            #expect([c.blockSize, c.embedding, c.layers, c.heads] == [config["n_positions"], config["n_embd"], config["n_layer"], config["n_head"]])

            let betas = try #require(training["betas"] as? [Double])
            let choice = try OptimizerChoice(.adamw, settings: [
                "lr": "\(try #require(training["lr"] as? Double))", "betas": "\(betas[0]),\(betas[1])",
                "eps": "\(try #require(training["eps"] as? Double))", "weight_decay": "\(try #require(training["weight_decay"] as? Double))",
            ])
            let recipe = Recipe(optimizer: choice, decay: .exceptBiasesAndNorms, batchSize: 2, seed: 0, nonFinite: .propagate)
            let optimizer = try recipe.makeOptimizer(model.parameters())
            let clip = try #require(training["clip_norm"] as? Double)
            let batches = try #require(reference["batches"] as? [[String: [[Int]]]])
            let rates = try #require(reference["lr_per_step"] as? [Double]), losses = try #require(reference["loss_per_step"] as? [Double])
            #expect(batches.count == rates.count && rates.count == losses.count && rates.count == training["steps"] as? Int)
            let expected = try Self.tensors(Fixtures.referenceDirectory.appendingPathComponent(try #require(reference["expected"] as? String)).path)
            for (step, batch) in batches.enumerated() {
                try rejectUnknownKeys(of: batch, understood: ["x", "y"], in: "\(file) batch \(step)")
                for index in optimizer.groupSchedules.indices { optimizer.groupSchedules[index].lr = rates[step] }
                optimizer.zeroGrad()
                let inputs = try #require(batch["x"]), targets = try #require(batch["y"])
                if step == 0 {
                    let logits = try withNoGrad { try model.logits(inputs) }
                    let first = try #require(reference["logits_step0_row0_first4x8"] as? [Double])
                    let vocabulary = c.vocabularySize
                    for position in 0..<4 {
                        for token in 0..<8 {
                            let ours = logits.values[position * vocabulary + token], theirs = Float(first[position * 8 + token])
                            #expect(abs(ours - theirs) <= 1e-5 * max(1, abs(theirs)), "logit \(position),\(token)")
                        }
                    }
                }
                let loss = try model.loss(inputs, targets: targets)
                try loss.backward()
                let value = Double(try loss.item())
                #expect(abs(value - Float(losses[step]).double) <= 1e-5 * abs(losses[step]), "loss of step \(step): \(value) against \(losses[step])")
                if step == 0 {
                    for (name, parameter) in model.namedParameters() {
                        let theirs = try #require(expected["grads_step0/" + name], "grads_step0/\(name)")
                        let ours = try #require(parameter.grad)
                        let laidOut = HuggingFaceGPT2Tests.huggingFaceLayout(ours, name: name, shape: parameter.shape)
                        let scale = theirs.values.reduce(Float(0)) { max($0, abs($1)) }
                        let worst = zip(laidOut, theirs.values).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                        #expect(worst <= 1e-4 * scale, "step-0 gradient of \(name): off by \(worst) of \(scale)")
                    }
                }
                _ = try clipGradNorm(model.parameters(), maxNorm: clip)
                try optimizer.step()
            }
            let saved = HuggingFaceGPT2.huggingFaceTensors(of: model)
            for (name, tensor) in saved {
                let theirs = try #require(expected["final/" + name], "final/\(name)")
                #expect(tensor.shape == theirs.shape, "\(name)")
                let worst = zip(tensor.values, theirs.values).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                #expect(worst <= 1e-5, "final \(name): off by \(worst)")
            }
            // Every tensor of the expected file is read: a final weight or a step-0 gradient of a named parameter.
            let read = Set(saved.keys.flatMap { ["final/" + $0, "grads_step0/" + $0] })
            try rejectUnknownKeys(expected.keys.filter { !read.contains($0) }.sorted(), in: "gpt2_finetune.safetensors")
            #expect(Set(expected.keys.filter { $0.hasPrefix("final/") }) == Set(saved.keys.map { "final/" + $0 }))
        }
    }

    /// A weight or gradient of the GPT in Hugging Face's layout ([in, out] for the Conv1D weights).
    static func huggingFaceLayout(_ values: FloatBuffer, name: String, shape: [Int]) -> [Float] {
        guard [".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"].contains(where: name.hasSuffix) else {
            return Array(values)
        }
        let (rows, columns) = (shape[0], shape[1])
        return (0..<(rows * columns)).map { index in values[(index % rows) * columns + index / rows] }
    }

    /// Loading and saving keep every tensor's bytes: the saved file holds exactly the tensors of the one read, and
    /// reading it back gives the same model. The Hub's unprefixed names load the same.
    @Test func aDirectoryRoundTripsByteForByte() throws {
        let original = try Self.tensors(Self.tinyDirectory + "/model.safetensors")
        let model = try HuggingFaceGPT2.load(directory: Self.tinyDirectory)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gpt2-export-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try HuggingFaceGPT2.save(model, to: folder, tokenizerFrom: Self.tinyDirectory)
        let written = try Self.tensors(folder + "/model.safetensors")
        #expect(written == original)
        for name in ["vocab.json", "merges.txt"] {
            #expect(FileManager.default.contentsEqual(atPath: folder + "/" + name, andPath: Self.tinyDirectory + "/" + name))
        }
        let again = try HuggingFaceGPT2.load(directory: folder)
        #expect(again.stateDict() == model.stateDict() && again.configuration == model.configuration)
        // The configuration written is the one read.
        let config = try Data(contentsOf: URL(fileURLWithPath: folder + "/config.json"))
        #expect(try HuggingFaceGPT2.configuration(json: config) == model.configuration)

        // The Hub's names: no `transformer.` prefix, and the causal-mask buffers older files keep.
        var hub = Dictionary(uniqueKeysWithValues: original.map { (String($0.key.dropFirst("transformer.".count)), $0.value) })
        hub["h.0.attn.bias"] = StateDict.TensorData(shape: [1, 1, 4, 4], values: FloatBuffer(count: 16))
        let state = try HuggingFaceGPT2.ourState(from: hub, configuration: model.configuration)
        #expect(state == model.stateDict())
    }

    /// The names and shapes computed from a configuration are those of the model built from it.
    @Test(arguments: [true, false])
    func theShapesAreTheModels(_ bias: Bool) {
        for tied in [true, false] {
            let c = GPT.Configuration(vocabularySize: 11, blockSize: 5, layers: 2, heads: 2, embedding: 8, bias: bias, tiedEmbedding: tied)
            let built = GPT(c).stateDict().tensors.mapValues(\.shape)
            #expect(HuggingFaceGPT2.shapes(of: c) == built)
        }
    }

    /// What cannot be loaded is refused in one line naming the file and the key or tensor.
    @Test func malformedDirectoriesAreRefused() throws {
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.tinyDirectory + "/config.json"))) as! [String: Any]
        func refusal(_ change: (inout [String: Any]) -> Void) -> String? {
            var edited = config
            change(&edited)
            do {
                _ = try HuggingFaceGPT2.configuration(json: JSONSerialization.data(withJSONObject: edited))
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal { $0["model_type"] = "llama" }?.contains("model_type") == true)
        #expect(refusal { $0["activation_function"] = "relu" }?.contains("activation_function") == true)
        #expect(refusal { $0["n_head"] = 3 }?.contains("n_embd") == true)
        #expect(refusal { $0["attn_pdrop"] = 0.1 }?.contains("attn_pdrop") == true)
        #expect(refusal { $0["n_layer"] = -1 }?.contains("n_layer") == true)
        #expect(refusal { $0["n_inner"] = 7 }?.contains("n_inner") == true)
        #expect(refusal { $0["scale_attn_by_inverse_layer_idx"] = true } != nil)
        #expect(refusal { _ in } == nil)

        let model = try HuggingFaceGPT2.load(directory: Self.tinyDirectory)
        let tensors = try Self.tensors(Self.tinyDirectory + "/model.safetensors")
        func stateRefusal(_ change: (inout [String: StateDict.TensorData]) -> Void) -> String? {
            var edited = tensors
            change(&edited)
            do {
                _ = try HuggingFaceGPT2.ourState(from: edited, configuration: model.configuration)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(stateRefusal { $0["transformer.h.1.mlp.c_fc.bias"] = nil }?.contains("lacks transformer.h.1.mlp.c_fc.bias") == true)
        #expect(stateRefusal { $0["transformer.h.0.attn.c_attn.weight"]?.shape = [48, 16] }?.contains("[48, 16]") == true)
        #expect(stateRefusal { $0["transformer.h.7.ln_1.weight"] = $0["transformer.h.0.ln_1.weight"] }?.contains("h.7") == true)
        #expect(stateRefusal { $0["lm_head.weight"] = $0["transformer.wpe.weight"] }?.contains("lm_head.weight") == true)
        // A tied lm_head equal to the embedding is what some files store: accepted.
        #expect(stateRefusal { $0["lm_head.weight"] = $0["transformer.wte.weight"] } == nil)
        #expect(throws: HuggingFaceGPT2.Failure.self) { try HuggingFaceGPT2.load(directory: "/nonexistent-gpt2") }
        #expect(throws: HuggingFaceGPT2.Failure.self) { try HuggingFaceGPT2.save(model, to: Self.tinyDirectory, tokenizerFrom: Self.tinyDirectory) }
    }

    /// A model without biases (nanoGPT's default) is written with zero biases: GPT-2 computing the same function.
    @Test func aModelWithoutBiasesIsWrittenWithZeroBiases() throws {
        let c = GPT.Configuration(vocabularySize: 11, blockSize: 5, layers: 1, heads: 2, embedding: 8, bias: false)
        let model = GPT(c)
        let tensors = HuggingFaceGPT2.huggingFaceTensors(of: model)
        var withBias = c
        withBias.bias = true
        #expect(Set(tensors.keys) == Set(HuggingFaceGPT2.shapes(of: withBias).keys))
        #expect(tensors["transformer.h.0.mlp.c_fc.bias"]?.values.allSatisfy { $0 == 0 } == true)
        let loaded = GPT(withBias)
        try loaded.load(stateDict: HuggingFaceGPT2.ourState(from: tensors, configuration: withBias))
        let tokens = [[1, 2, 3, 4]]
        #expect(try model.logits(tokens).values == loaded.logits(tokens).values)
    }
}

private extension Float {
    var double: Double { Double(self) }
}
