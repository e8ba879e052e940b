import Foundation
import NN
import TestSupport
import Testing

/// Every case of `gpt_char.json` (nanoGPT's model in PyTorch 2.15): the model built from the case's config and
/// its initial weights loaded by nanoGPT's names; step 0's gradients, every step's loss and the final weights
/// within the README's tolerances (loss relative 1e-5, gradient 1e-4 × the tensor's largest magnitude, weights
/// absolute 1e-5). A key the test does not read fails the case (see ``unknownKeys(in:)``).
struct GPTParityTests {
    static let file = "gpt_char.json"

    /// The kernels' paths the parity suites run on: the detected one, and forced AVX2 and generic where this CPU
    /// runs them (generic rounds each multiply-add twice: the other family of bits).
    static let paths = Array(Set([CPUPath.detected, .avx2, .generic].filter(\.isSupported))).sorted { $0.rawValue < $1.rawValue }

    @Test(arguments: paths)
    func gptMatchesPyTorchOnEveryReferenceCase(_ path: CPUPath) throws {
        try CPUPath.$forced.withValue(path) { try matchesEveryReferenceCase() }
    }

    func matchesEveryReferenceCase() throws {
        let file = try Fixtures.json(Self.file)
        try Fixtures.checkFileKeys(file, of: Self.file, reading: ["cases"], meta: ["vocab"])
        // The characters the token ids index: only their number matters here (it must be vocab_size).
        let vocabulary = (file["meta"] as? [String: Any])?["vocab"] as? String
        let cases: [[String: Any]] = try file.value("cases")
        #expect(!cases.isEmpty)
        for reference in cases {
            let name = (reference["name"] as? String) ?? "unnamed"
            do {
                try run(reference, name: name, vocabulary: vocabulary)
            } catch {
                Issue.record("case \(name) could not be run: \(error)")
            }
        }
    }

    /// The keys of a case that the test reads, and those it accepts unread (with the reason).
    static let caseKeys: Set<String> = [
        "name", "config", "shapes", "initial", "batches", "lr_per_step", "loss_per_step", "grads_step0", "final",
        "seed",  // unread: the seed PyTorch drew `initial` and `batches` with, both given in the case
    ]
    static let configKeys: Set<String> = [
        "vocab_size", "block_size", "n_layer", "n_head", "n_embd", "bias", "tie_weights", "gelu", "layer_norm_eps",
        "batch_size", "steps", "clip_norm", "optimizer",
        "warmup",  // unread: the warm-up that made `lr_per_step`, which the test sets step by step
    ]

    /// The optimizer a case names by PyTorch's class name (`AdamW`, `Adam`).
    static func optimizerKind(named type: String) -> OptimizerKind? {
        OptimizerKind.allCases.first { $0.className == type }
    }

    /// The keys of a case that the test does not understand, as paths (`config.optimizer.foreach`): the case's own,
    /// its `config`'s, its optimizer's (`type` and every option the optimizer declares, all passed to it) and its
    /// batches'. Parameter names (`initial`, `shapes`, `grads_step0`, `final`) are checked against the model's.
    static func unknownKeys(in c: [String: Any]) -> [String] {
        var unknown = c.unknownKeys(understood: caseKeys)
        if let config = c["config"] as? [String: Any] {
            unknown += config.unknownKeys(understood: configKeys, path: "config.")
            // An optimizer type that is not known fails the case by itself; its options are then not listed.
            if let optimizer = config["optimizer"] as? [String: Any],
               let kind = (optimizer["type"] as? String).flatMap(optimizerKind(named:)) {
                let options = Set(kind.options.map(\.name)).union(["type"])
                unknown += optimizer.unknownKeys(understood: options, path: "config.optimizer.")
            }
        }
        for (index, batch) in ((c["batches"] as? [[String: Any]]) ?? []).enumerated() {
            unknown += batch.unknownKeys(understood: ["x", "y"], path: "batches[\(index)].")
        }
        return unknown
    }

    private func run(_ c: [String: Any], name: String, vocabulary: String?) throws {
        try rejectUnknownKeys(Self.unknownKeys(in: c), in: "\(Self.file) case '\(name)'")
        let config: [String: Any] = try c.value("config")
        let gelu: GELUApproximation
        switch try config.value("gelu", as: String.self) {
        case "erf": gelu = .none
        case "tanh": gelu = .tanh
        case let other: throw FixtureError("unknown gelu '\(other)'")
        }
        let configuration = GPT.Configuration(
            vocabularySize: try config.value("vocab_size"), blockSize: try config.value("block_size"),
            layers: try config.value("n_layer"), heads: try config.value("n_head"), embedding: try config.value("n_embd"),
            dropout: 0, bias: try config.value("bias"), tiedEmbedding: try config.value("tie_weights"), gelu: gelu)
        if let vocabulary, vocabulary.unicodeScalars.count != configuration.vocabularySize {
            throw FixtureError("meta.vocab has \(vocabulary.unicodeScalars.count) characters, vocab_size is \(configuration.vocabularySize)")
        }
        let model = GPT(configuration)
        // Every LayerNorm of the model has the same eps.
        let layerNormEps = try config.double("layer_norm_eps")
        guard layerNormEps == model.transformer.ln_f.eps else {
            throw FixtureError("layer_norm_eps \(layerNormEps); the model's LayerNorms use \(model.transformer.ln_f.eps)")
        }
        let initial: [String: [Any]] = try c.value("initial")
        let shapes: [String: [Int]] = try c.value("shapes")
        guard Set(shapes.keys) == Set(initial.keys) else { throw FixtureError("shapes and initial name other parameters") }
        var state = StateDict()
        for (key, values) in initial {
            state.tensors[key] = .init(shape: try #require(shapes[key]), values: FloatBuffer(try floats(values)))
        }
        try model.load(stateDict: state)
        let parameters = model.parameters()

        // Every option of the optimizer object is passed to the optimizer (amsgrad, maximize, …); the rest are
        // the optimizer's defaults, which are PyTorch's.
        let optimizerConfig: [String: Any] = try config.value("optimizer")
        let type: String = try optimizerConfig.value("type")
        guard let kind = Self.optimizerKind(named: type) else { throw FixtureError("unknown optimizer type '\(type)'") }
        var settings: [String: String] = [:]
        for (key, value) in optimizerConfig where key != "type" {
            guard let option = kind.option(named: key) else { throw FixtureError("\(type) has no option '\(key)'") }
            settings[key] = try optionText(value, isFlag: option.isFlag, name: key)
        }
        let optimizer = try kind.makeOptimizer(parameters, settings: settings, excludingFromDecay: .biasesAndNorms)

        let batches: [[String: [[Int]]]] = try c.value("batches")
        let rates: [Double] = try c.value("lr_per_step")
        let losses: [Double] = try c.value("loss_per_step")
        let steps: Int = try config.value("steps"), batchSize: Int = try config.value("batch_size")
        guard batches.count == steps, rates.count == steps, losses.count == steps else {
            throw FixtureError("steps \(steps): \(batches.count) batches, \(rates.count) rates, \(losses.count) losses")
        }
        guard batches.allSatisfy({ $0["x"]?.count == batchSize && $0["y"]?.count == batchSize }) else {
            throw FixtureError("a batch does not hold batch_size \(batchSize) sequences")
        }
        let clip: Double? = config["clip_norm"] is NSNull ? nil : try config.double("clip_norm")
        let gradients: [String: [Any]] = try c.value("grads_step0")
        #expect(Set(gradients.keys) == Set(parameters.map(\.name)), "\(name): a step-0 gradient for every parameter")
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

/// The check that fails a case holding a key the parity test does not read, on small cases made here.
struct GPTParityKeyTests {
    /// A case's keys with placeholder values: only `config.optimizer.type` matters to the check.
    static func sampleCase(optimizer: [String: Any] = [:], config: [String: Any] = [:], extra: [String: Any] = [:])
        -> [String: Any] {
        var optimizerObject: [String: Any] = ["type": "AdamW", "lr": 0.003, "betas": [0.9, 0.99], "eps": 1e-8,
                                              "weight_decay": 0.1]
        optimizerObject.merge(optimizer) { $1 }
        var configObject: [String: Any] = [
            "vocab_size": 65, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 32, "bias": false,
            "tie_weights": true, "gelu": "erf", "batch_size": 4, "steps": 8, "warmup": 3, "clip_norm": 1,
            "layer_norm_eps": 1e-5, "optimizer": optimizerObject,
        ]
        configObject.merge(config) { $1 }
        var object: [String: Any] = [
            "name": "sample", "seed": 1, "config": configObject, "shapes": [String: Any](), "initial": [String: Any](),
            "batches": [["x": [[0]], "y": [[1]]]], "lr_per_step": [0.003], "loss_per_step": [4.0],
            "grads_step0": [String: Any](), "final": [String: Any](),
        ]
        object.merge(extra) { $1 }
        return object
    }

    @Test func aCaseWithTheKeysOfTheReferenceHasNoUnknownKey() {
        #expect(GPTParityTests.unknownKeys(in: Self.sampleCase()).isEmpty)
    }

    @Test func anUnknownOptimizerKeyIsReported() {
        let c = Self.sampleCase(optimizer: ["amsgrad_typo": true])
        #expect(GPTParityTests.unknownKeys(in: c) == ["config.optimizer.amsgrad_typo"])
        #expect(throws: FixtureError.self) {
            try rejectUnknownKeys(GPTParityTests.unknownKeys(in: c), in: "gpt_char.json case 'sample'")
        }
    }

    /// Options the optimizer declares are passed to it, so they are not unknown.
    @Test func theOptimizersOwnOptionsAreRead() {
        let c = Self.sampleCase(optimizer: ["amsgrad": true, "maximize": false])
        #expect(GPTParityTests.unknownKeys(in: c).isEmpty)
    }

    @Test func unknownKeysAreReportedAtEveryLevel() {
        let c = Self.sampleCase(
            optimizer: ["foreach": false], config: ["dropout": 0.1],
            extra: ["comment": "x", "batches": [["x": [[0]], "y": [[1]], "mask": [[1]]]]])
        #expect(GPTParityTests.unknownKeys(in: c)
            == ["comment", "config.dropout", "config.optimizer.foreach", "batches[0].mask"])
    }
}
