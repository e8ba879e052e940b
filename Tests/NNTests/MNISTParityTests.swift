import Datasets
import Foundation
import NN
import TestSupport
import Testing

/// Every `mnist_*.json` in the reference directory: the model built from `architecture`, loaded from `initial`,
/// trained on the given `batches` of the real MNIST training set with the given optimizer, against PyTorch's
/// loss at every step (relative 1e-4) and final weights (absolute 1e-4).
struct MNISTParityTests {
    static let lossTolerance = 1e-4, weightTolerance = 1e-4

    @Test func trainingMatchesPyTorchOnEveryReferenceRun() throws {
        let files = try Fixtures.files(prefix: "mnist_", suffix: ".json")
        #expect(!files.isEmpty, "no mnist_*.json in \(Fixtures.referenceDirectory.path)")
        let train = try MNIST(split: .train)
        for file in files {
            do {
                // The initial weights come from the reference; a generator of its own keeps the global one free.
                try withRandomGenerator(seed: 0) { try run(try Fixtures.json(file), name: file, data: train) }
            } catch {
                Issue.record("\(file) could not be run: \(error)")
            }
        }
    }

    /// Sets a parameter's values from a reference, refusing a wrong count instead of training a broken model.
    static func assign(_ values: [Float], to parameter: Parameter?, what: String) throws {
        guard let parameter else { throw FixtureError("\(what): the model has no such parameter") }
        guard values.count == parameter.count else {
            throw FixtureError("\(what) has \(values.count) values, the parameter \(parameter.count)")
        }
        parameter.values = FloatBuffer(values)
    }

    private func run(_ reference: [String: Any], name: String, data: MNIST) throws {
        let architecture: [String: Any] = try reference.value("architecture")
        let inputs: Int = try architecture.value("input"), outputs: Int = try architecture.value("output")
        let hidden: [Int] = try architecture.value("hidden")
        let activation: String = try architecture.value("activation")
        guard activation == "relu" else { throw FixtureError("unsupported activation \(activation)") }
        let widths = [inputs] + hidden + [outputs]
        let layers = zip(widths, widths.dropFirst()).map { Linear($0, $1) }
        let model = Sequential {
            Flatten()
            for (index, layer) in layers.enumerated() {
                if index > 0 { ReLU() }
                layer
            }
        }
        let initial: [[String: Any]] = try reference.value("initial")
        guard initial.count == layers.count else { throw FixtureError("initial has \(initial.count) layers") }
        for (index, (layer, values)) in zip(layers, initial).enumerated() {
            try Self.assign(try floats(values["weight"]), to: layer.weight, what: "initial layer \(index) weight")
            try Self.assign(try floats(values["bias"]), to: layer.bias, what: "initial layer \(index) bias")
            if let shape = values["shape"] as? [Int], shape != layer.weight.shape {
                throw FixtureError("initial layer \(index) has shape \(shape), the architecture gives \(layer.weight.shape)")
            }
        }

        let optimizerName: String = try reference.value("optimizer")
        let options: [String: Any] = try reference.value("options")
        for key in options.keys where !["lr", "betas", "eps", "weight_decay", "amsgrad"].contains(key) {
            throw FixtureError("unknown option \(key)")
        }
        let betaList = (options["betas"] as? [NSNumber])?.map(\.doubleValue) ?? [0.9, 0.999]
        guard betaList.count == 2 else { throw FixtureError("betas has \(betaList.count) entries") }
        let betas = (betaList[0], betaList[1])
        let lr = try options.double("lr")
        let eps = (options["eps"] as? NSNumber)?.doubleValue ?? 1e-8
        let amsgrad = (options["amsgrad"] as? Bool) ?? false
        let optimizer: Optimizer
        switch optimizerName {
        case "AdamW":
            optimizer = try AdamW(model.parameters(), lr: lr, betas: betas, eps: eps,
                                  weightDecay: (options["weight_decay"] as? NSNumber)?.doubleValue ?? 0.01, amsgrad: amsgrad)
        case "Adam":
            optimizer = try Adam(model.parameters(), lr: lr, betas: betas, eps: eps,
                                 weightDecay: (options["weight_decay"] as? NSNumber)?.doubleValue ?? 0, amsgrad: amsgrad)
        default:
            throw FixtureError("unknown optimizer \(optimizerName)")
        }

        let batches: [[Int]] = try reference.value("batches")
        let losses = try (reference.value("loss_per_step") as [NSNumber]).map(\.doubleValue)
        guard batches.count == losses.count else { throw FixtureError("batches and losses differ in count") }
        guard batches.allSatisfy({ $0.allSatisfy { (0..<data.count).contains($0) } }) else {
            throw FixtureError("a batch index is outside the \(data.count) training images")
        }
        for (step, indices) in batches.enumerated() {
            let (input, target) = data.batch(indices)
            optimizer.zeroGrad()
            let loss = try crossEntropy(model(input), target)
            try loss.backward()
            try optimizer.step()
            let ours = Double(try loss.item())
            #expect(abs(ours - losses[step]) <= Self.lossTolerance * abs(losses[step]),
                    "\(name) step \(step): loss \(ours) vs \(losses[step])")
        }
        let final: [[String: Any]] = try reference.value("final")
        guard final.count == layers.count else { throw FixtureError("final has \(final.count) layers") }
        for (index, (layer, values)) in zip(layers, final).enumerated() {
            let weight = firstMismatch(layer.weight.values.array, try floats(values["weight"]),
                                       atol: Self.weightTolerance, rtol: 0)
            #expect(weight == nil, "\(name) layer \(index) weight: \(weight ?? "")")
            let bias = firstMismatch(layer.bias?.values.array ?? [], try floats(values["bias"]),
                                     atol: Self.weightTolerance, rtol: 0)
            #expect(bias == nil, "\(name) layer \(index) bias: \(bias ?? "")")
        }
    }
}
