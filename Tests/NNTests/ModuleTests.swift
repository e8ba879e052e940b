import NN
import Testing

final class TwoLayer: Module {
    let fc1 = Linear(4, 3), fc2 = Linear(3, 2)
    let norm = LayerNorm(3)
    let drop = Dropout(p: 0.5)
    func forward(_ x: Tensor) throws(TensorError) -> Tensor { try fc2(drop(norm(fc1(x)).relu())) }
}

struct ModuleTests {
    // Every test draws from a generator of its own: tests run in parallel, and the global one is left alone.

    @Test func parametersAreFoundByReflectionWithDottedNames() {
        withRandomGenerator(seed: 1) { checkNames() }
    }

    func checkNames() {
        let model = Sequential { Flatten(); Linear(784, 10) }
        #expect(model.namedParameters().map(\.name) == ["layers.1.weight", "layers.1.bias"])
        let nested = TwoLayer()
        #expect(nested.namedParameters().map(\.name)
                == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "norm.weight", "norm.bias"])
        #expect(nested.parameters().map(\.name) == nested.namedParameters().map(\.name),
                "parameters() names each parameter by its path")
        #expect(nested.parameters().map(\.count) == [12, 3, 6, 2, 3, 3])
    }

    @Test func linearInitializationFollowsPyTorchBoundsAndTheSeed() {
        let a = withRandomGenerator(seed: 1) { Linear(100, 20) }
        let b = withRandomGenerator(seed: 1) { Linear(100, 20) }
        #expect(a.weight.values == b.weight.values && a.bias?.values == b.bias?.values)
        #expect(a.weight.values.allSatisfy { abs($0) <= 0.1 } && a.weight.values.contains { abs($0) > 0.09 })
        #expect(a.weight.shape == [20, 100] && a.bias?.shape == [20])
        #expect(a.bias?.values.allSatisfy { abs($0) <= 0.1 } == true, "the bias is uniform in ±1/√fan_in too")
        #expect(a.bias?.values.contains { abs($0) > 0.05 } == true)
        #expect(withRandomGenerator(seed: 1) { Linear(3, 2, bias: false) }.bias == nil)
    }

    @Test func aModuleStateLoadsByNameAndListsEveryMismatch() throws {
        let (source, target) = withRandomGenerator(seed: 7) { (TwoLayer(), TwoLayer()) }
        try target.load(stateDict: source.stateDict())
        #expect(target.parameters().map(\.values) == source.parameters().map(\.values))
        var state = source.stateDict()
        state.tensors["fc1.bias"] = nil
        state.tensors["fc2.weight"] = .init(shape: [2, 2], values: FloatBuffer(count: 4))
        state.tensors["extra"] = .init(shape: [1], values: [1])
        let fresh = withRandomGenerator(seed: 8) { TwoLayer() }
        let before = fresh.parameters().map(\.values)
        #expect(throws: StateMismatch("model state", problems: [
            "'fc1.bias' is missing", "'fc2.weight' has shape [2, 2] in the state, [2, 3] in the model",
            "'extra' is not a parameter of the model",
        ])) { try fresh.load(stateDict: state) }
        #expect(fresh.parameters().map(\.values) == before, "nothing was loaded")
        // A weight stored as another dtype (a crafted file) is named, not read as floats.
        var bf16 = source.stateDict()
        let bytes = [UInt8](repeating: 0, count: 12)
        bytes.withUnsafeBytes { bf16.tensors["fc2.weight"] = .init(shape: [2, 3], bytes: $0, elementType: .bfloat16) }
        #expect(throws: StateMismatch("model state", problems: ["'fc2.weight' is stored as BF16; a model's weights are F32"])) {
            try fresh.load(stateDict: bf16)
        }
    }

    /// Weights read from a file are checked as flags are: a NaN or an infinity is named with its place.
    @Test func weightsThatAreNotFiniteAreNotLoaded() throws {
        let (source, target) = withRandomGenerator(seed: 7) { (TwoLayer(), TwoLayer()) }
        let before = target.parameters().map(\.values)
        for value in [Float.nan, .infinity, -.infinity] {
            var state = source.stateDict()
            state.tensors["fc2.weight"]?.values[4] = value
            #expect(throws: StateMismatch("model state", problems: ["'fc2.weight' holds \(value) at index 4; a model's weights must be finite"])) {
                try target.load(stateDict: state)
            }
            #expect(target.parameters().map(\.values) == before, "nothing was loaded")
        }
    }

    /// A temperature so small that every logit overflows is the likeliest token, as top-k 1 is; logits that are not
    /// numbers (weights that are not) are refused rather than drawn from.
    @Test func samplingAtATinyTemperatureIsGreedyAndNaNWeightsAreRefused() throws {
        let model = withRandomGenerator(seed: 4) { GPT(.init(vocabularySize: 12, blockSize: 8, layers: 1, heads: 2, embedding: 16)) }
        model.eval()
        var greedyDraws = RandomGenerator(seed: 1), coldDraws = RandomGenerator(seed: 1)
        let greedy = try model.generate(from: [1, 2], count: 20, temperature: 1, topK: 1, using: &greedyDraws)
        for temperature in [1e-320, 1e-45] {
            let cold = try model.generate(from: [1, 2], count: 20, temperature: temperature, using: &coldDraws)
            #expect(cold == greedy, "\(temperature)")
        }
        model.parameters()[0].values[0] = .nan
        #expect(throws: TensorError.self) { _ = try model.generate(from: [0], count: 3, using: &coldDraws) }
    }

    @Test func trainAndEvalSwitchDropout() throws {
        try withRandomGenerator(seed: 2) { try checkDropoutModes() }
    }

    func checkDropoutModes() throws {
        let model = Sequential { Dropout(p: 0.5) }
        let x = try Tensor(repeating: 1, shape: [200])
        model.eval()
        #expect(try model(x).array == x.array)
        model.train()
        #expect(try model(x).array.contains(0))
    }

    @Test func sequentialBuilderTakesLoopsAndConditions() throws {
        try withRandomGenerator(seed: 3) { try checkBuilder() }
    }

    func checkBuilder() throws {
        let widths = [8, 6, 4]
        let useNorm = true
        let model = Sequential {
            for (from, to) in zip(widths, widths.dropFirst()) {
                Linear(from, to)
                GELU()
            }
            if useNorm { LayerNorm(4) }
            Tanh()
        }
        #expect(model.layers.count == 6)
        let y = try model(Tensor(repeating: 0.5, shape: [3, 8]))
        #expect(y.shape == [3, 4])
    }

    @Test func layerNormEmbeddingAndLossesOnKnownValues() throws {
        try withRandomGenerator(seed: 4) { try checkKnownValues() }
    }

    func checkKnownValues() throws {
        let norm = LayerNorm(4)
        let y = try norm(Tensor([1, 2, 3, 4], shape: [1, 4])).array
        let expected: [Float] = [-1.3416, -0.4472, 0.4472, 1.3416]
        #expect(zip(y, expected).allSatisfy { abs($0 - $1) < 1e-3 })
        let embedding = Embedding(5, 2)
        let rows = try embedding(indices: [3, 3, 0]).array
        #expect(Array(rows[0..<2]) == Array(embedding.weight.values[6..<8]) && Array(rows[0..<2]) == Array(rows[2..<4]))
        #expect(throws: TensorError.self) { try embedding(Tensor([0.5], shape: [1])) }
        let mse = try mseLoss(Tensor([1, 2], shape: [2]), Tensor([0, 4], shape: [2])).item()
        #expect(mse == 2.5)
    }
}

/// Layers never stop the program for a bad size: the layer is made, and using it throws a named error.
struct LayerValidationTests {
    @Test func invalidSizesThrowWhenTheLayerIsUsed() throws {
        let input = try Tensor(repeating: 1, shape: [2, 4])
        let cases: [(String, any Module, String)] = [
            ("Linear(0, 3)", withRandomGenerator(seed: 1) { Linear(0, 3) }, "Linear: invalid in features 0.0"),
            ("Linear(4, -2)", withRandomGenerator(seed: 1) { Linear(4, -2) }, "Linear: invalid out features -2.0"),
            ("LayerNorm([])", LayerNorm([Int]()), "LayerNorm: shape [] cannot hold 0 elements"),
            ("LayerNorm([4, 0])", LayerNorm([4, 0]), "LayerNorm: shape [4, 0] cannot hold 0 elements"),
            ("LayerNorm eps 0", LayerNorm(4, eps: 0), "LayerNorm: invalid eps 0.0"),
            ("Embedding(0, 3)", withRandomGenerator(seed: 1) { Embedding(0, 3) }, "Embedding: shape [0, 3] cannot hold 0 elements"),
            ("Dropout(p: -0.1)", Dropout(p: -0.1), "Dropout: invalid p -0.1"),
            ("Dropout(p: 2)", Dropout(p: 2), "Dropout: invalid p 2.0"),
        ]
        for (name, layer, message) in cases {
            do {
                _ = try layer(input)
                Issue.record("\(name) did not throw")
            } catch {
                #expect("\(error)" == message, "\(name)")
            }
            #expect(layer.parameters().allSatisfy { $0.count == 0 } || name.hasPrefix("Dropout") || name.hasPrefix("LayerNorm eps"))
        }
    }
}
