import Kernels
import TestSupport
import Testing

/// The fused, threaded Adagrad kernel against its scalar reference, bit for bit, for every variant, on lengths
/// that exercise the SIMD tail and the thread split, however the range is cut up.
struct AdagradStepTests {
    static let steps = 10
    static let lr = 0.1, eps = 1e-2

    struct Variant: CustomTestStringConvertible, Sendable {
        var weightDecay: Double, lrDecay: Double, maximize: Bool
        var testDescription: String { "λ \(weightDecay), lr decay \(lrDecay), maximize \(maximize)" }
        func kernel(step: Int) -> AdagradStep {
            AdagradStep(lr: lr, lrDecay: lrDecay, weightDecay: weightDecay, eps: eps, step: step, maximize: maximize)
        }
    }

    static let variants: [Variant] = [0, 0.01].flatMap { weightDecay in
        [0, 0.05].flatMap { lrDecay in
            [false, true].map { Variant(weightDecay: weightDecay, lrDecay: lrDecay, maximize: $0) }
        }
    }

    /// θ and Σ after `steps` steps, all streams in one arena so that a write past a stream's end shows.
    static func run(_ variant: Variant, count: Int, _ mode: KernelMode, path: CPUPath = .current) throws -> [[Float]] {
        var random = TestRandom(seed: UInt64(count) &+ 41)
        var arena = FloatBuffer(count: 3 * count)
        let pool = try ThreadPool(threadCount: mode.threads)
        arena.withUnsafeMutablePointer { base in
            base.update(from: random.floats(count), count: count)
            let streams = AdagradStep.Streams(param: base, grad: base + count, sum: base + 2 * count)
            for step in 1...steps {
                (base + count).update(from: RMSpropStepTests.gradients(&random, count: count), count: count)
                let kernel = variant.kernel(step: step)
                switch mode {
                case .reference: kernel.applyReference(streams, count: count, fused: path.isFused)
                case .threads:
                    ThreadPool.$current.withValue(pool) {
                        CPUPath.$forced.withValue(path) { kernel.apply(streams, count: count) }
                    }
                case .pieces:
                    for piece in randomPieces(of: count, seed: UInt64(step)) { kernel.run(streams, piece, path: path) }
                }
            }
        }
        let all = arena.array
        return [0, 2].map { Array(all[$0 * count..<($0 + 1) * count]) }
    }

    /// On every path this CPU runs: the scalar reference of the path's family, bit for bit.
    @Test(arguments: variants)
    func everyPathEqualsItsScalarReferenceBitwiseOnOneAndTwoThreads(_ variant: Variant) throws {
        for count in RMSpropStepTests.lengths {
            for path in CPUPath.supported {
                let reference = try Self.run(variant, count: count, .reference, path: path)
                for threads in [1, 2] {
                    let fused = try Self.run(variant, count: count, .threads(threads), path: path)
                    expectBitwiseEqual(["θ", "Σ"], fused, reference, "\(path), count \(count), \(threads) threads")
                }
            }
        }
    }

    @Test(arguments: variants)
    func anySplitOfTheRangeGivesTheSameBits(_ variant: Variant) throws {
        for count in RMSpropStepTests.lengths {
            let whole = try Self.run(variant, count: count, .threads(1))
            let pieces = try Self.run(variant, count: count, .pieces)
            expectBitwiseEqual(["θ", "Σ"], pieces, whole, "count \(count)")
        }
    }

    /// Adagrad as PyTorch's docs write it, in Double and without fused operations: an independent check of the
    /// kernel's arithmetic.
    static func textbook(_ variant: Variant, count: Int) -> [[Double]] {
        var random = TestRandom(seed: UInt64(count) &+ 41)
        var theta = random.floats(count).map(Double.init), sum = [Double](repeating: 0, count: count)
        for step in 1...steps {
            let grads = RMSpropStepTests.gradients(&random, count: count)
            let clr = lr / (1 + Double(step - 1) * variant.lrDecay)
            for i in 0..<count {
                var g = Double(grads[i])
                if variant.maximize { g = -g }
                if variant.weightDecay != 0 { g += variant.weightDecay * theta[i] }
                sum[i] += g * g
                theta[i] -= clr * g / (sum[i].squareRoot() + eps)
            }
        }
        return [theta, sum]
    }

    @Test(arguments: variants)
    func fusedKernelMatchesTheTextbookFormulaInDouble(_ variant: Variant) throws {
        let count = 70_001
        let fused = try Self.run(variant, count: count, .threads(2))
        let expected = Self.textbook(variant, count: count)
        expectClose(["θ", "Σ"], fused, expected)
    }

    @Test(arguments: variants)
    func nanGradientGivesNanParameter(_ variant: Variant) {
        var theta: [Float] = (0..<17).map { Float($0) / 8 - 1 }, sum = [Float](repeating: 0, count: 17)
        var grads = [Float](repeating: 0.5, count: 17)
        grads[2] = .nan; grads[16] = .nan // one in a vector, one in the tail
        theta.withUnsafeMutableBufferPointer { theta in
            sum.withUnsafeMutableBufferPointer { sum in
                grads.withUnsafeBufferPointer { grads in
                    let streams = AdagradStep.Streams(param: theta.baseAddress!, grad: grads.baseAddress!,
                                                      sum: sum.baseAddress!)
                    variant.kernel(step: 3).apply(streams, count: 17)
                }
            }
        }
        #expect(theta[2].isNaN && theta[16].isNaN && sum[2].isNaN && sum[16].isNaN)
        #expect(theta.indices.filter { $0 != 2 && $0 != 16 }.allSatisfy { theta[$0].isFinite })
    }

    /// θ = −0 with g = ±0 is where negating as `0 − g` (SIMD's prefix minus) and as a sign flip (Float's) differ.
    @Test(arguments: variants.filter(\.maximize))
    func maximizeNegatesSignedZerosAsTheReferenceDoes(_ variant: Variant) {
        let grads: [Float] = (0..<17).map { $0.isMultiple(of: 2) ? 0 : -0.0 }
        var results: [[Float]] = []
        for reference in [false, true] {
            var theta = [Float](repeating: -0.0, count: 17), sum = [Float](repeating: 0, count: 17)
            theta.withUnsafeMutableBufferPointer { theta in
                sum.withUnsafeMutableBufferPointer { sum in
                    grads.withUnsafeBufferPointer { grads in
                        let streams = AdagradStep.Streams(param: theta.baseAddress!, grad: grads.baseAddress!,
                                                          sum: sum.baseAddress!)
                        if reference {
                            variant.kernel(step: 1).applyReference(streams, count: 17)
                        } else {
                            variant.kernel(step: 1).apply(streams, count: 17)
                        }
                    }
                }
            }
            results.append(theta)
        }
        expectBitwiseEqual(["θ"], [results[0]], [results[1]], "θ = −0, g = ±0")
    }

    @Test func decayedLearningRateIsComputedInDouble() {
        let kernel = AdagradStep(lr: 0.1, lrDecay: 0.03, weightDecay: 0, eps: 1e-10, step: 7, maximize: false)
        #expect(kernel.clr == Float(0.1 / (1 + 6 * 0.03)))
    }
}
