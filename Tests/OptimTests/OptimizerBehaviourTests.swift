import Optim
import Testing

struct OptimizerBehaviourTests {
    static func param(_ name: String, _ values: [Float]) throws -> Parameter {
        try Parameter(name: name, shape: [values.count], values: values)
    }

    @Test func groupsTakeTheOptimizerDefaultsForOptionsTheyDoNotSet() throws {
        let a = try Self.param("a", [1]), b = try Self.param("b", [1])
        let optimizer = try AdamW([ParamGroup(params: [a]), ParamGroup(params: [b], lr: 0.5, weightDecay: 0)],
                                  lr: 0.01, betas: (0.8, 0.9), eps: 1e-6, amsgrad: true)
        let (first, second) = (optimizer.paramGroups[0], optimizer.paramGroups[1])
        #expect(first.lr == 0.01 && first.weightDecay == 0.01 && first.betas == (0.8, 0.9) && first.eps == 1e-6)
        #expect(first.amsgrad && first.decoupledWeightDecay && first.initialLR == 0.01)
        #expect(second.lr == 0.5 && second.weightDecay == 0 && second.betas == (0.8, 0.9) && second.initialLR == 0.5)
        try optimizer.addParamGroup(ParamGroup(params: [try Self.param("c", [1])]) { $0.eps = 1e-3 })
        #expect(optimizer.paramGroups[2].lr == 0.01 && optimizer.paramGroups[2].eps == 1e-3)
        #expect(optimizer.parameters.map(\.name) == ["a", "b", "c"])
    }

    @Test func learningRateChangesBetweenStepsTakeEffectPerGroup() throws {
        let a = try Self.param("a", [1, 1]), b = try Self.param("b", [1])
        let optimizer = try SGD([ParamGroup(params: [a]), ParamGroup(params: [b], lr: 0.5)], lr: 0.1)
        a.grad = [1, 2]; b.grad = [1]
        try optimizer.step()
        #expect(a.values == [0.9, 0.8] && b.values == [0.5])
        optimizer.paramGroups[0].lr = 0.01
        try optimizer.step()
        #expect(a.values == [Float(0.9) - 0.01, Float(0.8) - 0.02] && b.values == [0])
    }

    @Test func aParameterWithoutGradientIsSkippedEntirely() throws {
        let a = try Self.param("a", [1, 2]), b = try Self.param("b", [3])
        let optimizer = try AdamW([a, b], lr: 0.1, weightDecay: 0.5)
        a.grad = [0.5, -0.5]
        try optimizer.step()
        #expect(b.values == [3], "no decay without a gradient")
        #expect(optimizer.state(for: b) == nil)
        #expect(optimizer.state(for: a)?.step == 1)
        a.grad = nil; b.grad = [1]
        let before = a.values
        try optimizer.step()
        #expect(a.values == before && optimizer.state(for: a)?.step == 1)
        #expect(optimizer.state(for: b)?.step == 1)
    }

    @Test func stateIsReadableUnderPyTorchNames() throws {
        let w = try Self.param("w", [1, 2])
        let adam = try AdamW([w], amsgrad: true)
        w.grad = [0.1, 0.2]
        try adam.step()
        let state = try #require(adam.state(for: w))
        #expect(state.step == 1 && state[.expAvg]?.count == 2 && state[.expAvgSq]?.count == 2)
        #expect(state[.maxExpAvgSq] == state[.expAvgSq] && state[.momentumBuffer] == nil)
        let v = try Self.param("v", [1])
        let sgd = try SGD([v], lr: 0.1, momentum: 0.9)
        v.grad = [2]
        try sgd.step()
        #expect(sgd.state(for: v)?[.momentumBuffer] == [2])
    }

    @Test func zeroGradDropsOrZeroesEveryGradient() throws {
        let a = try Self.param("a", [1, 2]), b = try Self.param("b", [3])
        let optimizer = try AdamW([a, b])
        a.grad = [1, 1]; b.grad = [2]
        optimizer.zeroGrad(setToNone: false)
        #expect(a.grad == [0, 0] && b.grad == [0])
        optimizer.zeroGrad()
        #expect(a.grad == nil && b.grad == nil)
    }

    @Test func adamWithDecoupledDecayIsExactlyAdamW() throws {
        func run(_ make: (Parameter) throws -> Optimizer) throws -> [Float] {
            let w = try Self.param("w", [0.5, -1, 2])
            let optimizer = try make(w)
            for step in 0..<5 {
                w.grad = FloatBuffer([0.3, -0.2, 0.1].map { Float($0) * Float(step + 1) })
                try optimizer.step()
            }
            return w.values.array
        }
        let adamw = try run { try AdamW([$0], lr: 0.01, weightDecay: 0.1) }
        let flagged = try run { try Adam([$0], lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true) }
        let coupled = try run { try Adam([$0], lr: 0.01, weightDecay: 0.1) }
        #expect(adamw.map(\.bitPattern) == flagged.map(\.bitPattern))
        #expect(adamw != coupled, "coupled L2 and decoupled decay must give different trajectories")
    }

    @Test func maximizeIsMinimizingTheNegatedGradient() throws {
        let a = try Self.param("a", [1, -2]), b = try Self.param("b", [1, -2])
        let maximizing = try AdamW([a], lr: 0.1, maximize: true), minimizing = try AdamW([b], lr: 0.1)
        for _ in 0..<3 {
            a.grad = [0.5, 0.25]; b.grad = [-0.5, -0.25]
            try maximizing.step(); try minimizing.step()
        }
        #expect(a.values == b.values)
    }

    @Test func accumulateGradAddsAndReusesTheDroppedBuffer() throws {
        let w = try Self.param("w", [0, 0, 0])
        let one: [Float] = [1, 2, 3]
        try one.withUnsafeBufferPointer { try w.accumulateGrad($0) }
        try one.withUnsafeBufferPointer { try w.accumulateGrad($0) }
        #expect(w.grad == [2, 4, 6])
        let address = w.grad?.withUnsafeBufferPointer { $0.baseAddress }
        w.zeroGrad()
        #expect(w.grad == nil)
        try one.withUnsafeBufferPointer { try w.accumulateGrad($0) }
        #expect(w.grad == [1, 2, 3])
        #expect(w.grad?.withUnsafeBufferPointer { $0.baseAddress } == address, "the dropped buffer is reused")
        #expect(throws: OptimError.gradientCountMismatch(name: "w", expected: 3, actual: 2)) {
            try [Float(1), 2].withUnsafeBufferPointer { try w.accumulateGrad($0) }
        }
    }
}
