import Experiments
import NN
import Foundation
import Testing

/// The effective decay per step, worked by hand on two weights.
struct DecayReportTests {
    /// One Adam step with L2 from θ = [1, 1], gradients [0.001, 0.1], λ = 0.01, lr = 1e-3:
    /// the gradient with the L2 term is g' = g + λθ = [0.011, 0.11]; after one step v̂ = g'² exactly
    /// (v = (1 − β2)·g'², bias correction 1 − β2), so √v̂ = [0.011, 0.11] and the decay term shrinks the weights by
    /// lr·λ/(√v̂ + ε) = 1e-5/0.011 ≈ 9.0909e-4 and 1e-5/0.11 ≈ 9.0909e-5 per step: ten times more for the weight with
    /// the smaller gradient. AdamW shrinks both by lr·λ = 1e-5.
    @Test func theShrinkOfTwoWeightsMatchesTheHandWorkedValues() throws {
        let expectations: [(decoupled: Bool, shrink: [Double], magnitude: [Double])] = [
            (false, [1e-5 / (0.011 + 1e-8), 1e-5 / (0.11 + 1e-8)], [0.011, 0.11]),
            (true, [1e-5, 1e-5], [0.001, 0.1]),
        ]
        for expected in expectations {
            let weights = try Parameter(name: "w", shape: [2], values: [1, 1])
            let optimizer = try Adam([weights], lr: 1e-3, weightDecay: 0.01, decoupledWeightDecay: expected.decoupled)
            weights.grad = [0.001, 0.1]
            try optimizer.step()
            let shrink = try #require(DecayReport.shrink(of: weights, in: optimizer))
            for i in 0..<2 {
                // Float moments: v holds g'² in Float, so √v̂ agrees to Float precision.
                #expect(abs(shrink[i].gradientMagnitude - expected.magnitude[i]) <= 1e-6 * expected.magnitude[i],
                        "decoupled \(expected.decoupled), weight \(i): √v̂ \(shrink[i].gradientMagnitude)")
                #expect(abs(shrink[i].shrink - expected.shrink[i]) <= 1e-6 * expected.shrink[i],
                        "decoupled \(expected.decoupled), weight \(i): shrink \(shrink[i].shrink)")
            }
        }
    }

    @Test func aParameterThatNeverSteppedHasNoShrink() throws {
        let weights = try Parameter(name: "w", shape: [2], values: [1, 1])
        let optimizer = try AdamW([weights])
        #expect(DecayReport.shrink(of: weights, in: optimizer) == nil)
        let stranger = try Parameter(name: "x", shape: [1], values: [1])
        #expect(DecayReport.shrink(of: stranger, in: optimizer) == nil)
    }

    /// 25 weights with √v̂ = 1…25 and shrink 1/√v̂: ten groups of 2 or 3 in order, with their medians.
    @Test func decilesCutTheSortedWeightsIntoTenGroups() {
        let weights = (1...25).reversed().map { DecayReport.WeightShrink(gradientMagnitude: Double($0), shrink: 1 / Double($0)) }
        let deciles = DecayReport.deciles(weights)
        #expect(deciles.map(\.index) == Array(1...10))
        #expect(deciles.map(\.weights) == [2, 3, 2, 3, 2, 3, 2, 3, 2, 3])
        #expect(deciles[0].minimumMagnitude == 1 && deciles[0].maximumMagnitude == 2 && deciles[0].medianMagnitude == 1.5)
        #expect(deciles[1].medianMagnitude == 4 && deciles[1].medianShrink == 0.25)
        #expect(deciles[9].maximumMagnitude == 25 && abs(deciles[9].meanShrink - (1.0 / 23 + 1.0 / 24 + 1.0 / 25) / 3) < 1e-15)
        #expect(DecayReport.deciles([]).isEmpty)
        #expect(DecayReport.deciles(Array(weights.prefix(3))).map(\.weights) == [1, 1, 1])
    }
}
