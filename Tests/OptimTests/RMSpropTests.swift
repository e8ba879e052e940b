import Optim
import Testing

/// RMSprop's behaviour beyond the PyTorch trajectories (those are in PyTorchParityTests, every case of
/// `optimizers_rmsprop_adagrad.json`): its state, its defaults, its refusals.
struct RMSpropTests {
    static func parameter(_ values: [Float] = [1, -2, 3]) throws -> Parameter {
        let parameter = try Parameter(name: "w", shape: [values.count], values: values)
        parameter.grad = FloatBuffer(values.map { 0.5 * $0 - 0.25 })
        return parameter
    }

    @Test func rmspropKeepsOnlyTheBuffersItsOptionsNeed() throws {
        for (momentum, centered) in [(0.0, false), (0.9, false), (0.0, true), (0.9, true)] {
            let w = try Self.parameter()
            let optimizer = try RMSprop([w], momentum: momentum, centered: centered)
            try optimizer.step()
            let names = try #require(optimizer.state(for: w)).buffers.map(\.name)
            var expected: [StateBufferName] = [.squareAvg]
            if momentum > 0 { expected.append(.momentumBuffer) }
            if centered { expected.append(.gradAvg) }
            #expect(names == expected, "momentum \(momentum), centered \(centered)")
            #expect(optimizer.state(for: w)?.step == 1)
        }
    }

    @Test func rmspropHasPyTorchsDefaults() throws {
        let optimizer = try RMSprop([try Self.parameter()])
        let options = optimizer.paramGroups[0].options
        #expect(options.lr == 1e-2 && options.alpha == 0.99 && options.eps == 1e-8 && options.weightDecay == 0)
        #expect(options.momentum == 0 && !options.centered && !options.maximize)
    }

    @Test func rmspropStepsDifferentlyFromSGDAndAdam() throws {
        let (a, b, c) = (try Self.parameter(), try Self.parameter(), try Self.parameter())
        try RMSprop([a], lr: 0.01).step()
        try SGD([b], lr: 0.01).step()
        try Adam([c], lr: 0.01).step()
        #expect(a.values != b.values && a.values != c.values)
        // The first step of RMSprop divides g by √((1 − α)·g²) + ε: each weight moves by about lr/√(1 − α).
        #expect(abs(Double(a.values[0]) - (1 - 0.01 / (0.01).squareRoot())) < 1e-5)
    }

    @Test(arguments: [
        ("alpha", -0.1, "invalid alpha value: -0.1 (must be finite and >= 0)"),
        ("lr", -1, "invalid learning rate: -1.0 (must be finite and >= 0)"),
        ("momentum", -0.5, "invalid momentum value: -0.5 (must be finite and >= 0)"),
        ("eps", .nan, "invalid epsilon value: nan (must be finite and >= 0)"),
        ("weight_decay", .infinity, "invalid weight decay value: inf (must be finite and >= 0)"),
    ])
    func rmspropRefusesAnInvalidOption(_ name: String, _ value: Double, _ message: String) throws {
        #expect {
            _ = try OptimizerKind.rmsprop.makeOptimizer([try Self.parameter()], settings: [name: String(value)])
        } throws: { "\($0)" == message }
    }

    @Test func aLoadedRMSpropContinuesExactly() throws {
        let (a, b) = (try Self.parameter(), try Self.parameter())
        let original = try RMSprop([a], momentum: 0.9, centered: true)
        for _ in 0..<3 { try original.step() }
        b.values = a.values
        let restored = try RMSprop([b])
        try restored.load(stateDict: original.stateDict())
        #expect(restored.paramGroups[0].options.centered && restored.paramGroups[0].options.momentum == 0.9)
        try original.step()
        try restored.step()
        #expect(a.values == b.values)
        #expect(restored.state(for: b)?[.gradAvg] == original.state(for: a)?[.gradAvg])
    }
}
