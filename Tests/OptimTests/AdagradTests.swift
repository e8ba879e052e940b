import Optim
import Testing

/// Adagrad's behaviour beyond the PyTorch trajectories (every case of `optimizers_rmsprop_adagrad.json` is in
/// PyTorchParityTests): its sum, its learning-rate decay, its refusals.
struct AdagradTests {
    static func parameter(_ values: [Float] = [1, -2, 3]) throws -> Parameter {
        let parameter = try Parameter(name: "w", shape: [values.count], values: values)
        parameter.grad = FloatBuffer(values.map { 0.5 * $0 - 0.25 })
        return parameter
    }

    @Test func theSumStartsFromTheInitialAccumulatorValue() throws {
        let w = try Self.parameter()
        let optimizer = try Adagrad([w], initialAccumulatorValue: 0.5)
        try optimizer.step()
        let g = [Float(0.25), -1.25, 1.25]
        #expect(optimizer.state(for: w)?[.sum] == FloatBuffer(g.map { 0.5 + $0 * $0 }))
        #expect(optimizer.state(for: w)?.step == 1)
    }

    /// As in PyTorch, where the constructor fills every sum from its own argument, a group's value does not
    /// change where the sum starts.
    @Test func aGroupsInitialAccumulatorValueDoesNotChangeTheStart() throws {
        let (a, b) = (try Self.parameter(), try Self.parameter())
        let optimizer = try Adagrad([ParamGroup(params: [a]), ParamGroup(params: [b]) { $0.initialAccumulatorValue = 3 }])
        try optimizer.step()
        #expect(optimizer.state(for: a)?[.sum] == optimizer.state(for: b)?[.sum])
    }

    @Test func theLearningRateDecaysWithEachParametersSteps() throws {
        let w = try Parameter(name: "w", shape: [1], values: [0])
        let optimizer = try Adagrad([w], lr: 1, lrDecay: 1, eps: 0)
        var expected = 0.0, sum = 0.0
        for step in 1...4 {
            w.grad = [1]
            try optimizer.step()
            sum += 1
            expected -= 1 / (1 + Double(step - 1)) / sum.squareRoot()
            #expect(abs(Double(w.values[0]) - expected) < 1e-6, "step \(step)")
        }
    }

    @Test(arguments: [
        ("lr_decay", -1.0, "invalid lr_decay value: -1.0 (must be finite and >= 0)"),
        ("initial_accumulator_value", -0.1, "invalid initial_accumulator_value value: -0.1 (must be finite and >= 0)"),
        ("eps", -1, "invalid epsilon value: -1.0 (must be finite and >= 0)"),
    ])
    func adagradRefusesAnInvalidOption(_ name: String, _ value: Double, _ message: String) throws {
        #expect {
            _ = try OptimizerKind.adagrad.makeOptimizer([try Self.parameter()], settings: [name: String(value)])
        } throws: { "\($0)" == message }
    }

    @Test func adagradHasNoMomentumForASchedulerToCycle() throws {
        let optimizer = try Adagrad([try Self.parameter()])
        #expect(optimizer.groupSchedules.first?.momentum == nil)
    }
}
