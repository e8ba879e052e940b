import Optim
import Testing

struct WeightDecayTests {
    @Test func theStandardRuleLeavesBiasesAndNormsUndecayed() throws {
        let weight = try Parameter(name: "fc.weight", shape: [2, 3])
        let bias = try Parameter(name: "fc.bias", shape: [2])
        let norm = try Parameter(name: "ln.weight", shape: [3])
        let embedding = try Parameter(name: "emb.weight", shape: [5, 3])
        let groups: [ParamGroup<AdamOptions>] = WeightDecayRule.biasesAndNorms.groups([weight, bias, norm, embedding], weightDecay: 0.1)
        #expect(groups.count == 2)
        #expect(groups[0].params.map(\.name) == ["fc.weight", "emb.weight"] && groups[0].weightDecay == 0.1)
        #expect(groups[1].params.map(\.name) == ["fc.bias", "ln.weight"] && groups[1].weightDecay == 0)
        let optimizer = try AdamW(WeightDecayRule.biasesAndNorms.groups([weight, bias, norm, embedding]),
                                  weightDecay: 0.05)
        #expect(optimizer.paramGroups.map(\.weightDecay) == [0.05, 0])
    }

    @Test func aCustomRuleDecidesByNameAndEmptyGroupsAreLeftOut() throws {
        let embedding = try Parameter(name: "emb.weight", shape: [5, 3])
        let head = try Parameter(name: "head.weight", shape: [3, 5])
        let rule = WeightDecayRule { name, _ in name.hasPrefix("emb.") }
        let split: [ParamGroup<SGDOptions>] = rule.groups([embedding, head])
        #expect(split.map { $0.params.map(\.name) } == [["head.weight"], ["emb.weight"]])
        #expect((WeightDecayRule.biasesAndNorms.groups([embedding, head]) as [ParamGroup<SGDOptions>]).count == 1)
        #expect((WeightDecayRule.biasesAndNorms.groups([]) as [ParamGroup<SGDOptions>]).isEmpty)
    }

    @Test func excludedParametersAreNotDecayed() throws {
        let weight = try Parameter(name: "w", shape: [1, 1], values: [2])
        let bias = try Parameter(name: "b", shape: [1], values: [2])
        let optimizer = try AdamW(WeightDecayRule.biasesAndNorms.groups([weight, bias]), lr: 0.1, weightDecay: 0.5)
        weight.grad = [0]; bias.grad = [0]
        try optimizer.step()
        #expect(weight.values == [2 * Float(1 - 0.1 * 0.5)] && bias.values == [2])
    }

    /// With a zero gradient Adam's step is 0/(0 + ε) = 0, so only the decay moves θ: θ·(1 − lr·λ) per step, or
    /// θ·(1 − lr/initialLR·λ) when the decay follows the schedule multiplier instead of the learning rate.
    @Test func bothDecayConventionsMatchHandComputedValues() throws {
        // lr = 0.1, λ = 0.5; after the first step a scheduler halves lr to 0.05.
        let expected: [WeightDecayConvention: (Float, Float)] = [
            .learningRateScaled: (2 * 0.95, 2 * 0.95 * 0.975),   // 1 − 0.1·0.5, then 1 − 0.05·0.5
            .scheduleScaled: (2 * 0.5, 2 * 0.5 * 0.75),          // 1 − 1·0.5,   then 1 − ½·0.5
        ]
        for convention in WeightDecayConvention.allCases {
            let w = try Parameter(name: "w", shape: [1], values: [2])
            let optimizer = try AdamW([w], lr: 0.1, weightDecay: 0.5, decayConvention: convention)
            w.grad = [0]
            try optimizer.step()
            #expect(w.values == [expected[convention]!.0], "\(convention), step 1")
            optimizer.paramGroups[0].lr = 0.05
            try optimizer.step()
            #expect(w.values == [expected[convention]!.1], "\(convention), step 2")
        }
    }

    /// One AdamW step worked by hand: θ = 1, g = 0.5, lr = 0.1, λ = 0.1, β = (0.9, 0.999), ε = 1e-8.
    /// Decay: θ = 0.99. m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, θ = 0.99 − 0.1·0.5/(0.5 + 1e-8) ≈ 0.89.
    @Test func oneAdamWStepMatchesTheHandComputation() throws {
        let w = try Parameter(name: "w", shape: [1], values: [1])
        let optimizer = try AdamW([w], lr: 0.1, weightDecay: 0.1)
        w.grad = [0.5]
        try optimizer.step()
        let expected: Double = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8)
        #expect(abs(Double(w.values[0]) - expected) < 1e-7)
        #expect(optimizer.state(for: w)?[.expAvg] == [0.05])
        #expect(abs(Double(optimizer.state(for: w)![.expAvgSq]![0]) - 0.00025) < 1e-10)
    }
}
