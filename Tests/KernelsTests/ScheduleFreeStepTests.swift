import Foundation
import Kernels
import TestSupport
import Testing

/// The fused, threaded Schedule-Free AdamW kernel and its interpolation against their scalar references, bit for
/// bit, on every path this CPU runs, on lengths that exercise the SIMD tail (1, 15, 17) and the thread split
/// (70001), however the range is cut up; and against the formula in Double.
struct ScheduleFreeStepTests {
    static let lengths = [0, 1, 15, 16, 17, 1000, 70_001]
    static let steps = 6

    struct Variant: CustomTestStringConvertible, Sendable {
        var weightDecay: Double, beta1 = 0.9, beta2 = 0.999, warmup = 0
        var testDescription: String { "λ \(weightDecay), β \(beta1),\(beta2), warm-up \(warmup)" }

        /// The kernel of step k (from 0) with counters as the optimizer advances them (r 0, power 2).
        func kernel(step k: Int, lrMax: inout Double, weightSum: inout Double) -> ScheduleFreeStep {
            let lr = 0.01 * (k < warmup ? Double(k + 1) / Double(warmup) : 1)
            lrMax = max(lr, lrMax)
            let weight = lrMax * lrMax
            weightSum += weight
            return ScheduleFreeStep(lr: lr, beta1: beta1, beta2: beta2, eps: 1e-8, weightDecay: weightDecay,
                                    ckp1: weight / weightSum, biasCorrection2: 1 - pow(beta2, Double(k + 1)),
                                    fresh: k == 0)
        }
    }

    static let variants = [
        Variant(weightDecay: 0), Variant(weightDecay: 0.1), Variant(weightDecay: 0.05, warmup: 3),
        Variant(weightDecay: 0, beta1: 0.3, beta2: 0.95),
    ]

    /// y, z, v after `steps` steps, all streams in one arena so that a write past a stream's end shows.
    static func run(_ variant: Variant, count: Int, _ mode: KernelMode, path: CPUPath = .current) throws -> [[Float]] {
        var random = TestRandom(seed: UInt64(count) &+ 41)
        var arena = FloatBuffer(count: 4 * count)
        let pool = try ThreadPool(threadCount: mode.threads)
        var lrMax = -1.0, weightSum = 0.0
        arena.withUnsafeMutablePointer { base in
            base.update(from: random.floats(count), count: count)
            // z holds garbage before the first step: the kernel must copy y into it, not read it.
            (base + 2 * count).update(repeating: 1e30, count: count)
            let streams = ScheduleFreeStep.Streams(param: base, grad: base + count, z: base + 2 * count,
                                                   expAvgSq: base + 3 * count)
            for step in 0..<steps {
                var grads = random.floats(count, scale: 2)
                if count > 40 { grads[3] = .nan; grads[33] = 0 }
                (base + count).update(from: grads, count: count)
                let kernel = variant.kernel(step: step, lrMax: &lrMax, weightSum: &weightSum)
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
        return [0, 2, 3].map { Array(all[$0 * count..<($0 + 1) * count]) }
    }

    @Test(arguments: variants)
    func everyPathEqualsItsScalarReferenceBitwiseOnOneAndTwoThreads(_ variant: Variant) throws {
        for count in Self.lengths {
            for path in CPUPath.supported {
                let reference = try Self.run(variant, count: count, .reference, path: path)
                for threads in [1, 2] {
                    let fused = try Self.run(variant, count: count, .threads(threads), path: path)
                    expectBitwiseEqual(["y", "z", "v"], fused, reference, "\(path), count \(count), \(threads) threads")
                }
            }
        }
    }

    @Test(arguments: variants)
    func anySplitOfTheRangeGivesTheSameBits(_ variant: Variant) throws {
        for count in Self.lengths {
            let whole = try Self.run(variant, count: count, .threads(1))
            let pieces = try Self.run(variant, count: count, .pieces)
            expectBitwiseEqual(["y", "z", "v"], pieces, whole, "count \(count)")
        }
    }

    /// The update as the paper's algorithm writes it, in Double: x, z and the average written out, y derived.
    @Test(arguments: variants)
    func fusedKernelMatchesTheFormulaInDouble(_ variant: Variant) throws {
        let count = 70_001
        let fused = try Self.run(variant, count: count, .threads(2))
        var random = TestRandom(seed: UInt64(count) &+ 41)
        var y = random.floats(count).map(Double.init)
        var z = y, v = [Double](repeating: 0, count: count)
        var lrMax = -1.0, weightSum = 0.0
        for k in 0..<Self.steps {
            var grads = random.floats(count, scale: 2)
            grads[33] = 0
            let lr = 0.01 * (k < variant.warmup ? Double(k + 1) / Double(variant.warmup) : 1)
            lrMax = max(lr, lrMax)
            weightSum += lrMax * lrMax
            let c = lrMax * lrMax / weightSum, beta1 = variant.beta1, beta2 = variant.beta2
            for i in 0..<count {
                let g = Double(grads[i])
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let step = g / ((v[i] / (1 - pow(beta2, Double(k + 1)))).squareRoot() + 1e-8) + variant.weightDecay * y[i]
                // x from y and z (y = (1 − β1)·z + β1·x), then z's step and the average, then y again.
                let x = (y[i] - (1 - beta1) * z[i]) / beta1
                z[i] -= lr * step
                let newX = (1 - c) * x + c * z[i]
                y[i] = (1 - beta1) * z[i] + beta1 * newX
            }
        }
        let finite = (0..<count).filter { $0 != 3 }
        expectClose(["y", "z", "v"], fused.map { a in finite.map { a[$0] } }, [y, z, v].map { a in finite.map { a[$0] } })
    }

    @Test func interpolationEqualsItsReferenceOnEveryPathForBothBranches() throws {
        for weight: Float in [0.1, -0.111_111_11, 0.7, -1] {
            for count in Self.lengths {
                var random = TestRandom(seed: UInt64(count) &+ 3)
                let start = random.floats(count), end = random.floats(count)
                for path in CPUPath.supported {
                    let expected = zip(start, end).map {
                        ScheduleFreeStep.interpolateReference($0, $1, weight: weight, fused: path.isFused)
                    }
                    for threads in [1, 2] {
                        var values = FloatBuffer(start)
                        let pool = try ThreadPool(threadCount: threads)
                        values.withUnsafeMutablePointer { values in
                            ThreadPool.$current.withValue(pool) {
                                CPUPath.$forced.withValue(path) {
                                    ScheduleFreeStep.interpolate(values, toward: end, weight: weight, count: count)
                                }
                            }
                        }
                        expectBitwiseEqual(["lerp"], [values.array], [expected],
                                           "weight \(weight), \(path), count \(count), \(threads) threads")
                    }
                }
            }
        }
    }
}
