import Foundation
import Kernels
import TestSupport
import Testing

/// The fused, threaded AdamW/Adam kernel against its scalar reference, bit for bit, on lengths that exercise the
/// SIMD tail (1, 15, 17) and uneven thread splits (1000003), for every variant of the loop.
struct AdamStepTests {
    static let lengths = [0, 1, 15, 17, 1_000_003]

    struct Variant: CustomTestStringConvertible, Sendable {
        var amsgrad: Bool, coupled: Bool, maximize: Bool, beta1: Double
        /// Decay toward a reference point instead of zero (its pass before the step, and the coupled gradient
        /// built a block at a time).
        var towardReference = false
        var testDescription: String {
            "amsgrad \(amsgrad), coupled \(coupled), maximize \(maximize), β1 \(beta1)"
                + (towardReference ? ", toward a reference" : "")
        }
    }

    static let variants: [Variant] = [
        Variant(amsgrad: false, coupled: false, maximize: false, beta1: 0.9),
        Variant(amsgrad: false, coupled: true, maximize: false, beta1: 0.9),
        Variant(amsgrad: true, coupled: false, maximize: true, beta1: 0.9),
        Variant(amsgrad: true, coupled: true, maximize: false, beta1: 0.0),
        Variant(amsgrad: false, coupled: false, maximize: true, beta1: 0.3),
        Variant(amsgrad: false, coupled: false, maximize: false, beta1: 0.9, towardReference: true),
        Variant(amsgrad: false, coupled: true, maximize: true, beta1: 0.9, towardReference: true),
        Variant(amsgrad: true, coupled: true, maximize: false, beta1: 0.9, towardReference: true),
    ]

    /// θ, g, m, v, v̂max after three steps with the given kernel function.
    static func run(
        _ variant: Variant, count: Int, threads: Int, reference: Bool
    ) throws -> [[Float]] {
        var random = TestRandom(seed: UInt64(count) &+ 17)
        var theta = FloatBuffer(random.floats(count)), m = FloatBuffer(count: count)
        var v = FloatBuffer(count: count), vMax = FloatBuffer(count: count)
        let decayReference = FloatBuffer(variant.towardReference ? random.floats(count, scale: 3) : [])
        let pool = try ThreadPool(threadCount: threads)
        for step in 1...3 {
            var grads = random.floats(count, scale: 2)
            if count > 40 { grads[3] = .nan; grads[20] = .infinity; grads[33] = 0 }
            let g = FloatBuffer(grads)
            let kernel = AdamStep(
                lr: 1e-2, beta1: variant.beta1, beta2: 0.99, eps: 1e-8, step: step,
                decoupledDecay: variant.coupled ? nil : 1 - 1e-2 * 0.1, l2: variant.coupled ? 0.1 : 0,
                amsgrad: variant.amsgrad, maximize: variant.maximize)
            ThreadPool.$current.withValue(pool) {
                theta.withUnsafeMutableBufferPointer { p in
                    g.withUnsafeBufferPointer { g in
                        m.withUnsafeMutableBufferPointer { m in
                            v.withUnsafeMutableBufferPointer { v in
                                vMax.withUnsafeMutableBufferPointer { vMax in
                                decayReference.withUnsafeBufferPointer { r in
                                    let maxPointer = variant.amsgrad ? vMax.baseAddress : nil
                                    let toward = variant.towardReference ? r.baseAddress : nil
                                    if reference {
                                        kernel.applyReference(param: p.baseAddress!, grad: g.baseAddress!,
                                                              expAvg: m.baseAddress!, expAvgSq: v.baseAddress!,
                                                              maxExpAvgSq: maxPointer, count: count,
                                                              decayReference: toward)
                                    } else {
                                        kernel.apply(param: p.baseAddress!, grad: g.baseAddress!,
                                                     expAvg: m.baseAddress!, expAvgSq: v.baseAddress!,
                                                     maxExpAvgSq: maxPointer, count: count, decayReference: toward)
                                    }
                                }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [theta.array, m.array, v.array, vMax.array]
    }

    @Test(arguments: variants)
    func fusedKernelEqualsScalarReferenceBitwiseOnOneAndTwoThreads(_ variant: Variant) throws {
        for count in Self.lengths {
            let reference = try Self.run(variant, count: count, threads: 1, reference: true)
            for threads in [1, 2] {
                let fused = try Self.run(variant, count: count, threads: threads, reference: false)
                expectBitwiseEqual(["θ", "m", "v", "v̂max"], fused, reference, "count \(count), \(threads) threads")
            }
        }
    }

    /// Adam as written in the paper and PyTorch's docs, in Double and without fused operations: an independent
    /// check of the kernel's arithmetic (the scalar reference above mirrors its rounding step for step).
    static func textbook(_ variant: Variant, count: Int) -> [[Double]] {
        var random = TestRandom(seed: UInt64(count) &+ 17)
        var theta = random.floats(count).map(Double.init)
        let reference = variant.towardReference ? random.floats(count, scale: 3).map(Double.init) : theta.map { _ in 0 }
        var m = [Double](repeating: 0, count: count), v = m, vMax = m
        let lr = 1e-2, beta1 = variant.beta1, beta2 = 0.99, eps = 1e-8, lambda = 0.1
        for step in 1...3 {
            var grads = random.floats(count, scale: 2)
            if count > 40 { grads[3] = .nan; grads[20] = .infinity; grads[33] = 0 }
            for i in 0..<count {
                var g = Double(grads[i])
                if variant.maximize { g = -g }
                // Toward a reference: the decay (L2-SP when coupled) pulls θ toward it instead of toward zero.
                let offset = theta[i] - reference[i]
                if variant.coupled { g += lambda * offset } else { theta[i] = reference[i] + offset * (1 - lr * lambda) }
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                vMax[i] = max(vMax[i], v[i])
                let second = variant.amsgrad ? vMax[i] : v[i]
                let mHat = m[i] / (1 - pow(beta1, Double(step))), vHat = second / (1 - pow(beta2, Double(step)))
                theta[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
        return [theta, m, v]
    }

    @Test(arguments: variants)
    func fusedKernelMatchesTheTextbookFormulaInDouble(_ variant: Variant) throws {
        let count = 1_000_003
        let fused = try Self.run(variant, count: count, threads: 2, reference: false)
        let expected = Self.textbook(variant, count: count)
        // Elements 3 and 20 see NaN and ∞: there PyTorch's lerp (m + w·(g − m)) gives NaN where the textbook
        // β1·m + (1 − β1)·g gives ∞; the bitwise test above and the NaN test cover them.
        let finite = (0..<count).filter { $0 != 3 && $0 != 20 }
        for (name, (ours, exact)) in zip(["θ", "m", "v"], zip(fused, expected)) {
            let mismatch = firstMismatch(finite.map { ours[$0] }, finite.map { Float(exact[$0]) }, atol: 1e-6, rtol: 1e-5)
            #expect(mismatch == nil, "\(name): \(mismatch ?? "")")
        }
    }

    @Test func nanGradientPropagatesIntoParameterAndMoments() {
        let kernel = AdamStep(lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, decoupledDecay: 0.99999,
                              l2: 0, amsgrad: false, maximize: false)
        var theta: [Float] = [1, 2], m: [Float] = [0, 0], v: [Float] = [0, 0]
        let g: [Float] = [.nan, 0.5]
        kernel.apply(param: &theta, grad: g, expAvg: &m, expAvgSq: &v, maxExpAvgSq: nil, count: 2)
        #expect(theta[0].isNaN && m[0].isNaN && v[0].isNaN)
        #expect(theta[1].isFinite && theta[1] < 2)
    }

    @Test func biasCorrectionsAreComputedInDouble() {
        let kernel = AdamStep(lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3, decoupledDecay: nil,
                              l2: 0, amsgrad: false, maximize: false)
        #expect(kernel.stepSize == Float(1e-3 / (1 - 0.9 * 0.9 * 0.9)))
        #expect(kernel.inverseBiasCorrection2Sqrt == Float(1 / (1 - 0.999 * 0.999 * 0.999).squareRoot()))
    }
}

/// Expects each named array of `fused` to equal the one of `reference` bit for bit.
func expectBitwiseEqual(
    _ names: [String], _ fused: [[Float]], _ reference: [[Float]], _ context: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for (name, (ours, expected)) in zip(names, zip(fused, reference)) {
        let mismatch = bitwiseMismatch(ours, expected)
        #expect(mismatch == nil, "\(context), \(name): \(mismatch ?? "")", sourceLocation: sourceLocation)
    }
}

/// The first element whose bits differ (any NaN matches any NaN), or nil.
func bitwiseMismatch(_ a: [Float], _ b: [Float]) -> String? {
    guard a.count == b.count else { return "count \(a.count) vs \(b.count)" }
    for i in a.indices where a[i].bitPattern != b[i].bitPattern && !(a[i].isNaN && b[i].isNaN) {
        return "element \(i): \(a[i]) vs \(b[i])"
    }
    return nil
}
