import Optim
import Testing

struct NonFiniteGradientTests {
    enum Kind: String, CaseIterable, Sendable { case adamw, adamAMSGrad, sgdMomentum }

    static func setup(_ policy: NonFiniteGradientPolicy, _ kind: Kind = .adamw) throws -> (Optimizer, Parameter, Parameter) {
        let a = try Parameter(name: "a", shape: [3], values: [1, 2, 3])
        let b = try Parameter(name: "b", shape: [2], values: [4, 5])
        let optimizer: Optimizer = switch kind {
        case .adamw: try AdamW([a, b], lr: 0.1)
        case .adamAMSGrad: try Adam([a, b], lr: 0.1, weightDecay: 0.01, amsgrad: true)
        case .sgdMomentum: try SGD([a, b], lr: 0.1, momentum: 0.9, weightDecay: 0.01)
        }
        optimizer.nonFiniteGradients = policy
        a.grad = [0.1, 0.2, 0.3]
        b.grad = [0.5, 0.5]
        try optimizer.step()  // a first, finite step: state exists
        return (optimizer, a, b)
    }

    /// Values, every state buffer and the step count of each parameter.
    static func snapshot(_ optimizer: Optimizer, _ parameters: [Parameter]) -> [[Float]] {
        parameters.flatMap { p -> [[Float]] in
            let state = optimizer.state(for: p)
            let buffers: [FloatBuffer?] = [state?[.expAvg], state?[.expAvgSq], state?[.maxExpAvgSq], state?[.momentumBuffer]]
            let step: [Float] = [Float(state?.step ?? -1)]
            return [p.values.array] + buffers.map { $0?.array ?? [] } + [step]
        }
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity], Kind.allCases)
    func skipLeavesEverythingUntouchedAndCounts(_ bad: Float, _ kind: Kind) throws {
        let (optimizer, a, b) = try Self.setup(.skip, kind)
        let before = Self.snapshot(optimizer, [a, b])
        a.grad = [0.1, 0.2, 0.3]
        b.grad = [0.5, bad]
        try optimizer.step()
        #expect(Self.snapshot(optimizer, [a, b]) == before, "parameters, state buffers and step counts untouched")
        #expect(optimizer.skippedSteps == 1)
        b.grad = [0.5, 0.5]
        try optimizer.step()
        #expect(optimizer.skippedSteps == 1)
        #expect(b.values.array != before[6], "the next finite step moves b (its values follow a's six entries)")
        if kind != .sgdMomentum { #expect(optimizer.state(for: b)?.step == 2, "a skipped step is not counted") }
    }

    @Test(arguments: Kind.allCases)
    func throwNamesTheParameterAndChangesNothing(_ kind: Kind) throws {
        let (optimizer, a, b) = try Self.setup(.throw, kind)
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
