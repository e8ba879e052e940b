import Optim
import Testing

struct StateDictTests {
    static func model() throws -> [Parameter] {
        [try Parameter(name: "fc.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
         try Parameter(name: "fc.bias", shape: [2], values: [0.5, -0.5])]
    }

    static func trained() throws -> (AdamW, [Parameter]) {
        let params = try model()
        let optimizer = try AdamW([ParamGroup(params: [params[0]]), ParamGroup(params: [params[1]], lr: 0.02, weightDecay: 0)],
                                  lr: 0.01, amsgrad: true)
        for step in 1...3 {
            params[0].grad = FloatBuffer((0..<6).map { Float($0 + step) * 0.1 })
            params[1].grad = step == 2 ? nil : [0.3, -0.3]
            try optimizer.step()
        }
        return (optimizer, params)
    }

    @Test func aLoadedOptimizerContinuesExactlyLikeTheOriginal() throws {
        let (original, originalParams) = try Self.trained()
        // A fresh optimizer over parameters listed in the other order: matched by name, not position.
        let copies = try Self.model().reversed().map { $0 }
        let byName = Dictionary(uniqueKeysWithValues: originalParams.map { ($0.name, $0.values) })
        for copy in copies { copy.values = byName[copy.name] ?? copy.values }
        let restored = try AdamW([ParamGroup(params: [copies[1]]), ParamGroup(params: [copies[0]])], amsgrad: false)
        try restored.load(stateDict: original.stateDict())
        #expect(restored.paramGroups[1].lr == 0.02 && restored.paramGroups[0].amsgrad)
        #expect(restored.state(for: copies[0])?.step == 2 && restored.state(for: copies[1])?.step == 3)
        for (a, b) in [(originalParams[0], copies[1]), (originalParams[1], copies[0])] {
            a.grad = FloatBuffer(count: a.count, repeating: 0.25)
            b.grad = FloatBuffer(count: b.count, repeating: 0.25)
        }
        try original.step()
        try restored.step()
        #expect(originalParams[0].values == copies[1].values && originalParams[1].values == copies[0].values)
    }

    @Test func aStateThatDoesNotFitIsRefusedWithEveryProblemListed() throws {
        let (original, _) = try Self.trained()
        var state = original.stateDict()
        state.tensors["state.fc.weight.exp_avg"] = .init(shape: [6], values: FloatBuffer(count: 6))
        state.tensors["state.ghost.exp_avg"] = .init(shape: [1], values: [1])
        let other = try Parameter(name: "other", shape: [1])
        let sgd = try SGD([other])
        let sgdProblems = Self.problems { () throws(StateMismatch) in try sgd.load(stateDict: state) }
        #expect(sgdProblems.contains { $0.contains("is for AdamW, not SGD") })
        #expect(sgdProblems.contains { $0.contains("2 parameter groups, the optimizer 1") })
        #expect(sgdProblems.contains { $0.contains("parameter 'other' of group 0 is not in the checkpoint") })
        #expect(sgdProblems.contains { $0.contains("'state.ghost.exp_avg' belongs to no parameter") })
        let params = try Self.model()
        let adamw = try AdamW([ParamGroup(params: [params[0]]), ParamGroup(params: [params[1]])])
        let adamwProblems = Self.problems { () throws(StateMismatch) in try adamw.load(stateDict: state) }
        #expect(adamwProblems.contains { $0.contains("'state.fc.weight.exp_avg' is F32 of shape [6]; parameter 'fc.weight' in fp32 needs F32 of shape [2, 3]") })
        #expect(adamw.state(for: params[0]) == nil, "nothing was loaded")
    }

    /// A stepped Adam parameter needs both moments: recreating a missing one as zeros would continue another run.
    /// Buffers without a step count are reported too, not dropped.
    @Test func missingMomentsAndBuffersWithoutAStepAreListed() throws {
        let (original, _) = try Self.trained()
        var state = original.stateDict()
        state.tensors["state.fc.weight.exp_avg_sq"] = nil
        state.metadata["state.fc.bias.step"] = nil
        let params = try Self.model()
        let adamw = try AdamW([ParamGroup(params: [params[0]]), ParamGroup(params: [params[1]])])
        let problems = Self.problems { () throws(StateMismatch) in try adamw.load(stateDict: state) }
        #expect(problems.contains("parameter 'fc.weight' has taken 3 steps, but 'state.fc.weight.exp_avg_sq' is missing"),
                "\(problems)")
        #expect(problems.contains { $0.hasPrefix("'state.fc.bias.") && $0.hasSuffix("has no step count 'state.fc.bias.step'") },
                "\(problems)")
        #expect(adamw.state(for: params[0]) == nil, "nothing was loaded")
    }

    /// The problems a refused load lists (empty if it was accepted).
    static func problems(_ load: () throws(StateMismatch) -> Void) -> [String] {
        let result = Result(catching: load)
        guard case .failure(let error) = result else { return [] }
        return error.problems
    }
}
