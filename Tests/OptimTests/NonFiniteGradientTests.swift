import Optim
import Testing

struct NonFiniteGradientTests {
    static func setup(_ policy: NonFiniteGradientPolicy) throws -> (AdamW, Parameter, Parameter) {
        let a = try Parameter(name: "a", shape: [3], values: [1, 2, 3])
        let b = try Parameter(name: "b", shape: [2], values: [4, 5])
        let optimizer = try AdamW([a, b], lr: 0.1)
        optimizer.nonFiniteGradients = policy
        a.grad = [0.1, 0.2, 0.3]
        b.grad = [0.5, 0.5]
        try optimizer.step()  // a first, finite step: state exists
        return (optimizer, a, b)
    }

    static func snapshot(_ optimizer: AdamW, _ parameters: [Parameter]) -> [[Float]] {
        parameters.flatMap { p in
            [p.values.array, optimizer.state(for: p)?.expAvg?.array ?? [], optimizer.state(for: p)?.expAvgSq?.array ?? [],
             [Float(optimizer.state(for: p)?.step ?? -1)]]
        }
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func skipLeavesEverythingUntouchedAndCounts(_ bad: Float) throws {
        let (optimizer, a, b) = try Self.setup(.skip)
        let before = Self.snapshot(optimizer, [a, b])
        a.grad = [0.1, 0.2, 0.3]
        b.grad = [0.5, bad]
        try optimizer.step()
        #expect(Self.snapshot(optimizer, [a, b]) == before, "parameters, moments and step counts untouched")
        #expect(optimizer.skippedSteps == 1)
        b.grad = [0.5, 0.5]
        try optimizer.step()
        #expect(optimizer.skippedSteps == 1 && optimizer.state(for: b)?.step == 2)
    }

    @Test func throwNamesTheParameterAndChangesNothing() throws {
        let (optimizer, a, b) = try Self.setup(.throw)
        let before = Self.snapshot(optimizer, [a, b])
        a.grad = [0.1, .nan, 0.3]
        b.grad = [0.5, 0.5]
        #expect(throws: OptimError.nonFiniteGradient(name: "a")) { try optimizer.step() }
        #expect(Self.snapshot(optimizer, [a, b]) == before && optimizer.skippedSteps == 0)
    }

    @Test func propagateBehavesLikePyTorch() throws {
        let (optimizer, a, b) = try Self.setup(.propagate)
        a.grad = [0.1, .nan, 0.3]
        b.grad = [0.5, 0.5]
        try optimizer.step()
        #expect(a.values[1].isNaN && !a.values[0].isNaN && optimizer.skippedSteps == 0)
    }

    @Test func accumulatedGradientsCarryTheirFinitenessAndHandSetOnesAreRead() throws {
        let (optimizer, a, b) = try Self.setup(.skip)
        optimizer.zeroGrad()
        try [Float(1), 2, 3].withUnsafeBufferPointer { try a.accumulateGrad($0) }
        try [Float.infinity, 1].withUnsafeBufferPointer { try b.accumulateGrad($0) }
        try optimizer.step()
        #expect(optimizer.skippedSteps == 1, "found while accumulating")
        optimizer.zeroGrad()
        try [Float.infinity, 1].withUnsafeBufferPointer { try b.accumulateGrad($0) }
        try [-Float.infinity, 1].withUnsafeBufferPointer { try b.accumulateGrad($0) }
        try optimizer.step()
        #expect(optimizer.skippedSteps == 2, "inf + (−inf) is NaN")
        b.grad = [1, 1]
        a.grad = [1, 1, 1]
        try optimizer.step()
        #expect(optimizer.skippedSteps == 2, "a hand-set finite gradient is read and passes")
        b.grad?[0] = .nan
        try optimizer.step()
        #expect(optimizer.skippedSteps == 3, "an in-place change of a hand-set gradient is read again")
    }

    @Test func clippingByANaNNormMakesEveryGradientNonFinite() throws {
        let (optimizer, a, b) = try Self.setup(.skip)
        a.grad = [1, 1, 1]
        b.grad = [.nan, 1]
        try clipGradNorm([a, b], maxNorm: 1)
        #expect(a.grad?.array.allSatisfy(\.isNaN) == true)
        try optimizer.step()
        #expect(optimizer.skippedSteps == 1)
    }
}
