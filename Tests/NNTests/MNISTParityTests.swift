import Datasets
import Foundation
import NN
import TestSupport
import Testing

/// Every `mnist_*.json` in the reference directory: the model built from `architecture`, loaded from `initial`,
/// trained on the given `batches` of the real MNIST training set with the given optimizer, against PyTorch's
/// loss at every step (relative 1e-4) and final weights (absolute 1e-4). A key the test does not read fails the run.
struct MNISTParityTests {
    static let lossTolerance = 1e-4, weightTolerance = 1e-4

    /// The keys of a run that the test reads (`generator`, `note` and `dtype` are checked by `Fixtures`).
    static let runKeys: Set<String> = [
        "architecture", "initial", "optimizer", "options", "batch_size", "batches", "loss_per_step", "final",
        "input_scaling", "loss",
        "name",  // unread: the run's name, which the file's name repeats
    ]
    /// What the test computes, in the reference's words: another text is another computation, which it refuses.
    static let inputScaling = "pixel / 255 (float32), no normalization (torchvision ToTensor)"
    static let lossText = "mean softmax cross-entropy over the batch"
    static let layout = "weight is [out, in] row-major as torch.nn.Linear; logits = x @ W^T + b"

    @Test(arguments: GPTParityTests.paths)
    func trainingMatchesPyTorchOnEveryReferenceRun(_ path: CPUPath) throws {
        try CPUPath.$forced.withValue(path) { try matchesEveryReferenceRun() }
    }

    func matchesEveryReferenceRun() throws {
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
        try Fixtures.checkFileKeys(reference, of: name, reading: Self.runKeys)
        for (key, text) in [("input_scaling", Self.inputScaling), ("loss", Self.lossText)] {
            let theirs: String = try reference.value(key)
            guard theirs == text else { throw FixtureError("\(key) is '\(theirs)'; the test computes '\(text)'") }
        }
        let architecture: [String: Any] = try reference.value("architecture")
        try rejectUnknownKeys(of: architecture, understood: ["input", "output", "hidden", "activation", "layout"],
                              path: "architecture.", in: name)
        let layout: String = try architecture.value("layout")
        guard layout == Self.layout else { throw FixtureError("layout is '\(layout)'; the test computes '\(Self.layout)'") }
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
            try rejectUnknownKeys(of: values, understood: ["weight", "bias", "shape"], path: "initial[\(index)].", in: name)
            try Self.assign(try floats(values["weight"]), to: layer.weight, what: "initial layer \(index) weight")
            try Self.assign(try floats(values["bias"]), to: layer.bias, what: "initial layer \(index) bias")
            if let shape = values["shape"] as? [Int], shape != layer.weight.shape {
                throw FixtureError("initial layer \(index) has shape \(shape), the architecture gives \(layer.weight.shape)")
            }
        }

        // Every option is passed to the optimizer (amsgrad, maximize, …); the rest are its defaults, PyTorch's.
        let optimizerName: String = try reference.value("optimizer")
        guard let kind = OptimizerKind.allCases.first(where: { $0.className == optimizerName }) else {
            throw FixtureError("unknown optimizer \(optimizerName)")
        }
        let options: [String: Any] = try reference.value("options")
        try rejectUnknownKeys(of: options, understood: Set(kind.options.map(\.name)), path: "options.", in: name)
        var settings: [String: String] = [:]
        for (key, value) in options {
            settings[key] = try optionText(value, isFlag: kind.option(named: key)?.isFlag ?? false, name: key)
        }
        let optimizer = try kind.makeOptimizer(model.parameters(), settings: settings)

        let batches: [[Int]] = try reference.value("batches")
        let losses = try (reference.value("loss_per_step") as [NSNumber]).map(\.doubleValue)
        guard batches.count == losses.count else { throw FixtureError("batches and losses differ in count") }
        // The last batch may be short, as a DataLoader's is.
        let batchSize: Int = try reference.value("batch_size")
        guard batchSize > 0, batches.dropLast().allSatisfy({ $0.count == batchSize }),
              (1...batchSize).contains(batches.last?.count ?? 0) else {
            throw FixtureError("a batch does not hold batch_size \(batchSize) images")
        }
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
            try rejectUnknownKeys(of: values, understood: ["weight", "bias"], path: "final[\(index)].", in: name)
            let weight = firstMismatch(layer.weight.values.array, try floats(values["weight"]),
                                       atol: Self.weightTolerance, rtol: 0)
            #expect(weight == nil, "\(name) layer \(index) weight: \(weight ?? "")")
            let bias = firstMismatch(layer.bias?.values.array ?? [], try floats(values["bias"]),
                                     atol: Self.weightTolerance, rtol: 0)
            #expect(bias == nil, "\(name) layer \(index) bias: \(bias ?? "")")
        }
    }
}
