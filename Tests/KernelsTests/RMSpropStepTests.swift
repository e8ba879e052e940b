import Kernels
import TestSupport
import Testing

/// The fused, threaded RMSprop kernel against its scalar reference, bit for bit, for every variant of the loop, on
/// lengths that exercise the SIMD tail (1, 15, 17) and the thread split (70001), however the range is cut up.
struct RMSpropStepTests {
    static let lengths = [0, 1, 15, 16, 17, 1000, 70_001]
    static let steps = 10
    static let lr = 1e-2, eps = 1e-4

    struct Variant: CustomTestStringConvertible, Sendable {
        var centered: Bool, momentum: Double, weightDecay: Double, maximize: Bool, alpha = 0.99
        var testDescription: String {
            "centered \(centered), μ \(momentum), λ \(weightDecay), maximize \(maximize), α \(alpha)"
        }
        var kernel: RMSpropStep {
            RMSpropStep(lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay, momentum: momentum,
                        centered: centered, maximize: maximize)
        }
    }

    /// Every combination of the flags, and α < ½ for the other branch of PyTorch's lerp.
    static let variants: [Variant] = [false, true].flatMap { centered in
        [0, 0.9].flatMap { momentum in
            [0, 0.01].flatMap { weightDecay in
                [false, true].map {
                    Variant(centered: centered, momentum: momentum, weightDecay: weightDecay, maximize: $0)
                }
            }
        }
    } + [
        Variant(centered: true, momentum: 0, weightDecay: 0, maximize: false, alpha: 0.3),
        Variant(centered: true, momentum: 0.9, weightDecay: 0.01, maximize: true, alpha: 0.3),
    ]

    /// The gradients of one step: uniform in [-2, 2), with NaN, ∞ and 0 at fixed places when there is room.
    static func gradients(_ random: inout TestRandom, count: Int) -> [Float] {
        var grads = random.floats(count, scale: 2)
        if count > 40 { grads[3] = .nan; grads[20] = .infinity; grads[33] = 0 }
        return grads
    }

    /// θ, s, ḡ, b after `steps` steps, all streams in one arena so that a write past a stream's end shows.
    static func run(_ variant: Variant, count: Int, _ mode: KernelMode, steps: Int = steps,
                    path: CPUPath = .current) throws -> [[Float]] {
        var random = TestRandom(seed: UInt64(count) &+ 29)
        var arena = FloatBuffer(count: 5 * count)
        let pool = try ThreadPool(threadCount: mode.threads)
        arena.withUnsafeMutablePointer { base in
            base.update(from: random.floats(count), count: count)
            let streams = RMSpropStep.Streams(
                param: base, grad: base + count, squareAvg: base + 2 * count,
                gradAvg: variant.centered ? base + 3 * count : nil,
                momentumBuffer: variant.momentum > 0 ? base + 4 * count : nil)
            for step in 1...steps {
                (base + count).update(from: gradients(&random, count: count), count: count)
                let kernel = variant.kernel
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
        return [0, 2, 3, 4].map { Array(all[$0 * count..<($0 + 1) * count]) }
    }

    /// On every path this CPU runs: the scalar reference of the path's family, bit for bit.
    @Test(arguments: variants)
    func everyPathEqualsItsScalarReferenceBitwiseOnOneAndTwoThreads(_ variant: Variant) throws {
        for count in Self.lengths {
            for path in CPUPath.supported {
                let reference = try Self.run(variant, count: count, .reference, path: path)
                for threads in [1, 2] {
                    let fused = try Self.run(variant, count: count, .threads(threads), path: path)
                    expectBitwiseEqual(["θ", "s", "ḡ", "b"], fused, reference, "\(path), count \(count), \(threads) threads")
                }
            }
        }
    }

    @Test(arguments: variants)
    func anySplitOfTheRangeGivesTheSameBits(_ variant: Variant) throws {
        for count in Self.lengths {
            let whole = try Self.run(variant, count: count, .threads(1))
            let pieces = try Self.run(variant, count: count, .pieces)
            expectBitwiseEqual(["θ", "s", "ḡ", "b"], pieces, whole, "count \(count)")
        }
    }

    /// RMSprop as PyTorch's docs write it, in Double and without fused operations: an independent check of the
    /// kernel's arithmetic (the scalar reference mirrors its rounding step for step).
    static func textbook(_ variant: Variant, count: Int, steps: Int = steps) -> [[Double]] {
        var random = TestRandom(seed: UInt64(count) &+ 29)
        var theta = random.floats(count).map(Double.init)
        var squareAvg = [Double](repeating: 0, count: count), gradAvg = squareAvg, buffer = squareAvg
        let alpha = variant.alpha, momentum = variant.momentum
        for _ in 1...steps {
            let grads = gradients(&random, count: count)
            for i in 0..<count {
                var g = Double(grads[i])
                if variant.maximize { g = -g }
                if variant.weightDecay != 0 { g += variant.weightDecay * theta[i] }
                squareAvg[i] = alpha * squareAvg[i] + (1 - alpha) * g * g
                var avg = squareAvg[i]
                if variant.centered {
                    gradAvg[i] = alpha * gradAvg[i] + (1 - alpha) * g
                    avg -= gradAvg[i] * gradAvg[i]
                }
                avg = avg.squareRoot() + eps
                if momentum > 0 {
                    buffer[i] = momentum * buffer[i] + g / avg
                    theta[i] -= lr * buffer[i]
                } else {
                    theta[i] -= lr * g / avg
                }
            }
        }
        return [theta, squareAvg, gradAvg, buffer]
    }

    @Test(arguments: variants)
    func fusedKernelMatchesTheTextbookFormulaInDouble(_ variant: Variant) throws {
        // With α < ½, s and ḡ² follow the last gradients so closely that s − ḡ² cancels to about αᵗ·s where
        // consecutive gradients agree, and float32 (PyTorch's too) loses those digits within a few steps. Two steps
        // still take that branch of the lerp with ḡ ≠ 0.
        let count = 70_001, steps = variant.alpha < 0.5 ? 2 : Self.steps
        let fused = try Self.run(variant, count: count, .threads(2), steps: steps)
        let expected = Self.textbook(variant, count: count, steps: steps)
        // Elements 3 and 20 see NaN and ∞, where PyTorch's lerp and the textbook's differ (see AdamStepTests).
        let finite = (0..<count).filter { $0 != 3 && $0 != 20 }
        let finiteFused = fused.map { a in finite.map { a[$0] } }
        expectClose(["θ", "s", "ḡ", "b"], finiteFused, expected.map { a in finite.map { a[$0] } })
    }

    @Test(arguments: variants)
    func nanGradientGivesNanParameter(_ variant: Variant) {
        var theta: [Float] = (0..<17).map { Float($0) / 8 - 1 }, squareAvg = [Float](repeating: 0, count: 17)
        var gradAvg = squareAvg, buffer = squareAvg
        var grads = [Float](repeating: 0.5, count: 17)
        grads[2] = .nan; grads[16] = .nan // one in a vector, one in the tail
        theta.withUnsafeMutableBufferPointer { theta in
            squareAvg.withUnsafeMutableBufferPointer { squareAvg in
                gradAvg.withUnsafeMutableBufferPointer { gradAvg in
                    buffer.withUnsafeMutableBufferPointer { buffer in
                        grads.withUnsafeBufferPointer { grads in
                            let streams = RMSpropStep.Streams(
                                param: theta.baseAddress!, grad: grads.baseAddress!, squareAvg: squareAvg.baseAddress!,
                                gradAvg: gradAvg.baseAddress, momentumBuffer: buffer.baseAddress)
                            variant.kernel.apply(streams, count: 17)
                        }
                    }
                }
            }
        }
        #expect(theta[2].isNaN && theta[16].isNaN && squareAvg[2].isNaN && squareAvg[16].isNaN)
        #expect(theta.indices.filter { $0 != 2 && $0 != 16 }.allSatisfy { theta[$0].isFinite })
    }

    /// θ = −0 with g = ±0 is where negating as `0 − g` (SIMD's prefix minus) and as a sign flip (Float's) differ.
    @Test(arguments: variants.filter(\.maximize))
    func maximizeNegatesSignedZerosAsTheReferenceDoes(_ variant: Variant) {
        let grads: [Float] = (0..<17).map { $0.isMultiple(of: 2) ? 0 : -0.0 }
        var results: [[Float]] = []
        for reference in [false, true] {
            var theta = [Float](repeating: -0.0, count: 17), zeros = [Float](repeating: 0, count: 17)
            var gradAvg = zeros, buffer = zeros
            theta.withUnsafeMutableBufferPointer { theta in
                zeros.withUnsafeMutableBufferPointer { squareAvg in
                    gradAvg.withUnsafeMutableBufferPointer { gradAvg in
                        buffer.withUnsafeMutableBufferPointer { buffer in
                            grads.withUnsafeBufferPointer { grads in
                                let streams = RMSpropStep.Streams(
                                    param: theta.baseAddress!, grad: grads.baseAddress!,
                                    squareAvg: squareAvg.baseAddress!, gradAvg: gradAvg.baseAddress,
                                    momentumBuffer: buffer.baseAddress)
                                if reference {
                                    variant.kernel.applyReference(streams, count: 17)
                                } else {
                                    variant.kernel.apply(streams, count: 17)
                                }
                            }
                        }
                    }
                }
            }
            results.append(theta)
        }
        expectBitwiseEqual(["θ"], [results[0]], [results[1]], "θ = −0, g = ±0")
    }
}

/// Expects each named array of `fused` within 1e-6 of `exact`, relative to the element or to the array's largest
/// finite magnitude. Float32 rounds each operation to about 6e-8 of its operands, and a state such as b (a sum of
/// terms of ±10 and more) or θ can cancel far below the size of its terms: near zero its error is the terms'.
func expectClose(
    _ names: [String], _ fused: [[Float]], _ exact: [[Double]], sourceLocation: SourceLocation = #_sourceLocation
) {
    for (name, (ours, exact)) in zip(names, zip(fused, exact)) {
        let scale = exact.lazy.filter(\.isFinite).map(abs).max() ?? 0
        let mismatch = firstMismatch(ours, exact.map { Float($0) }, atol: 1e-6 * max(1, scale), rtol: 1e-6)
        #expect(mismatch == nil, "\(name): \(mismatch ?? "")", sourceLocation: sourceLocation)
    }
}

/// How a test applies a kernel: its scalar reference, its threaded `apply`, or its `run` on random pieces.
enum KernelMode {
    case reference, threads(Int), pieces

    var threads: Int {
        if case .threads(let count) = self { count } else { 1 }
    }
}

/// `0..<count` cut into pieces of 1 to 40 elements (mostly not multiples of 16, most starts unaligned), listed last
/// first so that a kernel run on them also sees its range out of order.
func randomPieces(of count: Int, seed: UInt64) -> [Range<Int>] {
    var random = TestRandom(seed: seed)
    var pieces: [Range<Int>] = [], start = 0
    while start < count {
        let end = min(count, start + 1 + Int(random.next() % 40))
        pieces.append(start..<end)
        start = end
    }
    return pieces.reversed()
}
