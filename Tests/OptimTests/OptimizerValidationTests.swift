import Optim
import Testing

/// Every invalid input throws the right typed error, whose message names the value, and changes nothing.
struct OptimizerValidationTests {
    static func param(_ name: String = "w", _ values: [Float] = [1, 2, 3]) -> Parameter {
        // A valid shape and count: cannot throw.
        try! Parameter(name: name, shape: [values.count], values: values)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let make: @Sendable () throws -> Void
        let expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "AdamW lr < 0", make: { _ = try AdamW([param()], lr: -1e-3) },
             expected: "invalid learning rate: -0.001"),
        Case(name: "AdamW lr NaN", make: { _ = try AdamW([param()], lr: .nan) }, expected: "invalid learning rate: nan"),
        Case(name: "AdamW lr ∞", make: { _ = try AdamW([param()], lr: .infinity) },
             expected: "invalid learning rate: inf"),
        Case(name: "Adam eps < 0", make: { _ = try Adam([param()], eps: -1e-8) }, expected: "invalid epsilon value: -1e-08"),
        Case(name: "Adam eps ∞", make: { _ = try Adam([param()], eps: .infinity) }, expected: "invalid epsilon value: inf"),
        Case(name: "AdamW β1 = 1", make: { _ = try AdamW([param()], betas: (1, 0.999)) },
             expected: "invalid beta parameter at index 0: 1.0"),
        Case(name: "AdamW β1 < 0", make: { _ = try AdamW([param()], betas: (-0.1, 0.999)) },
             expected: "invalid beta parameter at index 0: -0.1"),
        Case(name: "AdamW β2 NaN", make: { _ = try AdamW([param()], betas: (0.9, .nan)) },
             expected: "invalid beta parameter at index 1: nan"),
        Case(name: "Adam β2 = 1.5", make: { _ = try Adam([param()], betas: (0.9, 1.5)) },
             expected: "invalid beta parameter at index 1: 1.5"),
        Case(name: "AdamW weight decay < 0", make: { _ = try AdamW([param()], weightDecay: -0.01) },
             expected: "invalid weight decay value: -0.01"),
        Case(name: "AdamW weight decay ∞", make: { _ = try AdamW([param()], weightDecay: .infinity) },
             expected: "invalid weight decay value: inf"),
        Case(name: "SGD lr < 0", make: { _ = try SGD([param()], lr: -0.1) }, expected: "invalid learning rate: -0.1"),
        Case(name: "SGD momentum < 0", make: { _ = try SGD([param()], momentum: -0.9) },
             expected: "invalid momentum value: -0.9"),
        Case(name: "SGD weight decay NaN", make: { _ = try SGD([param()], weightDecay: .nan) },
             expected: "invalid weight decay value: nan"),
        Case(name: "SGD dampening ∞", make: { _ = try SGD([param()], momentum: 0.9, dampening: .infinity) },
             expected: "invalid dampening value: inf"),
        Case(name: "SGD nesterov without momentum", make: { _ = try SGD([param()], nesterov: true) },
             expected: "nesterov momentum requires a momentum > 0 and zero dampening, got momentum 0.0, dampening 0.0"),
        Case(name: "SGD nesterov with dampening",
             make: { _ = try SGD([param()], momentum: 0.9, dampening: 0.1, nesterov: true) },
             expected: "nesterov momentum requires a momentum > 0 and zero dampening, got momentum 0.9, dampening 0.1"),
        Case(name: "empty parameter list", make: { _ = try AdamW([Parameter]()) },
             expected: "optimizer got an empty parameter list"),
        Case(name: "empty group", make: { _ = try AdamW([ParamGroup(params: [param()]), ParamGroup(params: [])]) },
             expected: "parameter group 1 has no parameters"),
        Case(name: "parameter in two groups", make: {
            let shared = param("shared")
            _ = try AdamW([ParamGroup(params: [shared]), ParamGroup(params: [param(), shared])])
        }, expected: "parameter 'shared' appears in more than one parameter group (or twice in one)"),
        Case(name: "parameter twice in one group", make: {
            let twice = param("twice")
            _ = try SGD([twice, twice])
        }, expected: "parameter 'twice' appears in more than one parameter group (or twice in one)"),
        Case(name: "group lr < 0", make: { _ = try AdamW([ParamGroup(params: [param()], lr: -1)]) },
             expected: "invalid learning rate: -1.0"),
        Case(name: "schedule-scaled decay with initial lr 0", make: {
            _ = try AdamW([ParamGroup(params: [param()], initialLR: 0)], decayConvention: .scheduleScaled)
        }, expected: "invalid initial learning rate: 0.0 (must be finite and > 0 for schedule-scaled decay)"),
        Case(name: "negative dimension", make: { _ = try Parameter(name: "bad", shape: [2, -3]) },
             expected: "parameter 'bad' has an invalid shape [2, -3]"),
        Case(name: "shape whose count overflows", make: { _ = try Parameter(name: "huge", shape: [1 << 40, 1 << 40]) },
             expected: "parameter 'huge' has an invalid shape [1099511627776, 1099511627776]"),
        Case(name: "shape whose count overflows, with values", make: {
            _ = try Parameter(name: "huge", shape: [1 << 62, 4, 0], values: [])
        }, expected: "parameter 'huge' has an invalid shape [4611686018427387904, 4, 0]"),
        Case(name: "values count differs from shape", make: {
            _ = try Parameter(name: "w", shape: [2, 3], values: [1, 2, 3])
        }, expected: "parameter 'w' of shape [2, 3] needs 6 values, got 3"),
        Case(name: "gradient count differs at step", make: {
            let w = param()
            w.grad = [1, 2]
            try AdamW([w]).step()
        }, expected: "gradient of parameter 'w' has 2 elements, expected 3"),
        Case(name: "clip max norm < 0", make: { try clipGradNorm([param()], maxNorm: -1) },
             expected: "invalid max norm: -1.0"),
        Case(name: "clip max norm NaN", make: { try clipGradNorm([param()], maxNorm: .nan) },
             expected: "invalid max norm: nan"),
        Case(name: "clip norm type 0", make: { try clipGradNorm([param()], maxNorm: 1, normType: 0) },
             expected: "invalid norm type: 0.0"),
        Case(name: "clip norm type -∞", make: { try clipGradNorm([param()], maxNorm: 1, normType: -.infinity) },
             expected: "invalid norm type: -inf"),
        Case(name: "clip non-finite total norm", make: {
            let w = param()
            w.grad = [1, .nan, 3]
            try clipGradNorm([w], maxNorm: 1, errorIfNonfinite: true)
        }, expected: "the total norm of order of the gradients is non-finite (nan)"),
    ]

    @Test(arguments: cases)
    func invalidInputThrowsANamedError(_ testCase: Case) {
        do {
            try testCase.make()
            Issue.record("\(testCase.name) did not throw")
        } catch let error as OptimError {
            #expect(error.description.hasPrefix(testCase.expected), "\(error.description)")
        } catch {
            Issue.record("\(testCase.name) threw \(error), not an OptimError")
        }
    }

    @Test func aThrowingStepChangesNothing() throws {
        let good = Self.param("good"), bad = Self.param("bad")
        let optimizer = try AdamW([good, bad], lr: 0.1)
        good.grad = [1, 1, 1]
        bad.grad = [1, 1]
        #expect(throws: OptimError.gradientCountMismatch(name: "bad", expected: 3, actual: 2)) { try optimizer.step() }
        #expect(good.values == [1, 2, 3])
        #expect(optimizer.state(for: good) == nil)
    }

    @Test func anOptionMadeInvalidBetweenStepsIsRefusedAtTheNextStep() throws {
        let w = Self.param()
        let optimizer = try AdamW([w])
        w.grad = [1, 1, 1]
        optimizer.paramGroups[0].lr = -1
        #expect(throws: OptimError.invalidLearningRate(-1)) { try optimizer.step() }
        #expect(w.values == [1, 2, 3])
    }

    @Test func addingAnInvalidGroupAddsNothing() throws {
        let a = Self.param("a"), b = Self.param("b")
        let optimizer = try AdamW([a])
        #expect(throws: OptimError.parameterInSeveralGroups(name: "a")) {
            try optimizer.addParamGroup(ParamGroup(params: [b, a]))
        }
        #expect(throws: OptimError.invalidWeightDecay(-1)) {
            try optimizer.addParamGroup(ParamGroup(params: [b], weightDecay: -1))
        }
        #expect(optimizer.paramGroups.count == 1)
    }
}

extension OptimizerValidationTests {
    @Test func aParameterAddedTwiceBetweenStepsIsRefusedAtTheNextStep() throws {
        let a = Self.param("a"), b = Self.param("b")
        let optimizer = try SGD([a, b], lr: 0.1)
        a.grad = [1, 1, 1]
        try optimizer.step()
        optimizer.paramGroups[0].params.append(a)
        #expect(throws: OptimError.parameterInSeveralGroups(name: "a")) { try optimizer.step() }
        optimizer.paramGroups[0].params.removeLast()
        try optimizer.step()
        #expect(zip(a.values, [0.8, 1.8, 2.8] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 }, "two steps of 0.1")
    }
}
