import Foundation
import NN
import TestSupport
import Testing

/// Every case of `gpt_char.json` (nanoGPT's model in PyTorch 2.15): the model built from the case's config and
/// its initial weights loaded by nanoGPT's names; step 0's gradients, every step's loss and the final weights
/// within the README's tolerances (loss relative 1e-5, gradient 1e-4 × the tensor's largest magnitude, weights
/// absolute 1e-5).
struct GPTParityTests {
    @Test func gptMatchesPyTorchOnEveryReferenceCase() throws {
        let cases = try Fixtures.cases("gpt_char.json")
        #expect(!cases.isEmpty)
        for reference in cases {
            let name = (reference["name"] as? String) ?? "unnamed"
            do {
                try run(reference, name: name)
            } catch {
                Issue.record("case \(name) could not be run: \(error)")
            }
        }
    }

    private func run(_ c: [String: Any], name: String) throws {
        let config: [String: Any] = try c.value("config")
        let configuration = GPT.Configuration(
            vocabularySize: try config.value("vocab_size"), blockSize: try config.value("block_size"),
            layers: try config.value("n_layer"), heads: try config.value("n_head"), embedding: try config.value("n_embd"),
            dropout: 0, bias: try config.value("bias"), tiedEmbedding: try config.value("tie_weights"),
            gelu: try config.value("gelu", as: String.self) == "tanh" ? .tanh : .none)
        let model = GPT(configuration)
        let initial: [String: [Any]] = try c.value("initial")
        let shapes: [String: [Int]] = try c.value("shapes")
        var state = StateDict()
        for (key, values) in initial {
            state.tensors[key] = .init(shape: try #require(shapes[key]), values: FloatBuffer(try floats(values)))
        }
        try model.load(stateDict: state)
        let parameters = model.parameters()
        let optimizerConfig: [String: Any] = try config.value("optimizer")
        let betas: [Double] = try optimizerConfig.value("betas")
        let kind: OptimizerKind = try optimizerConfig.value("type", as: String.self) == "AdamW" ? .adamw : .adam
        let optimizer = try kind.makeOptimizer(
            parameters,
            settings: ["lr": String(try optimizerConfig.double("lr")), "betas": "\(betas[0]),\(betas[1])",
                       "eps": String(try optimizerConfig.double("eps")),
                       "weight_decay": String(try optimizerConfig.double("weight_decay"))],
            excludingFromDecay: .biasesAndNorms)
        let batches: [[String: [[Int]]]] = try c.value("batches")
        let rates: [Double] = try c.value("lr_per_step")
        let losses: [Double] = try c.value("loss_per_step")
        let clip = config["clip_norm"] as? Double
        let gradients: [String: [Any]] = try c.value("grads_step0")
        for (step, batch) in batches.enumerated() {
            for index in optimizer.groupSchedules.indices { optimizer.groupSchedules[index].lr = rates[step] }
            optimizer.zeroGrad()
            let loss = try model.loss(try #require(batch["x"]), targets: try #require(batch["y"]))
            let value = Double(try loss.item())
            #expect(abs(value - losses[step]) <= 1e-5 * abs(losses[step]), "\(name) step \(step): loss \(value) vs \(losses[step])")
            try loss.backward()
            if step == 0 {
                for (key, expected) in gradients {
                    let parameter = try #require(parameters.first { $0.name == key }, "\(name): no parameter \(key)")
                    let ours = try #require(parameter.grad, "\(name): \(key) has no gradient").array
                    let torch = try floats(expected)
                    let largest = torch.map { abs(Double($0)) }.max() ?? 0
                    let mismatch = firstMismatch(ours, torch, atol: 1e-4 * largest, rtol: 0)
                    #expect(mismatch == nil, "\(name) step 0 gradient \(key): \(mismatch ?? "")")
                }
            }
            if let clip { try clipGradNorm(parameters, maxNorm: clip) }
            try optimizer.step()
        }
        let final: [String: [Any]] = try c.value("final")
        for (key, expected) in final {
            let parameter = try #require(parameters.first { $0.name == key }, "\(name): no parameter \(key)")
            let mismatch = firstMismatch(parameter.values.array, try floats(expected), atol: 1e-5, rtol: 0)
            #expect(mismatch == nil, "\(name) final \(key): \(mismatch ?? "")")
        }
        #expect(Set(parameters.map(\.name)) == Set(final.keys), "\(name): the parameters are nanoGPT's")
    }
}
