import Kernels
import TestSupport
import Testing

/// The fused, threaded SGD kernel against its scalar reference, bit for bit, on tail and thread-split lengths.
struct SGDStepTests {
    struct Variant: CustomTestStringConvertible, Sendable {
        var momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool, maximize: Bool
        var testDescription: String {
            "μ \(momentum), dampening \(dampening), λ \(weightDecay), nesterov \(nesterov), maximize \(maximize)"
        }
    }

    static let variants: [Variant] = [
        Variant(momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false),
        Variant(momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: false, maximize: false),
        Variant(momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true, maximize: true),
        Variant(momentum: 0.8, dampening: 0.3, weightDecay: 0.05, nesterov: false, maximize: true),
    ]

    static func run(_ variant: Variant, count: Int, threads: Int, reference: Bool) throws -> [[Float]] {
        var random = TestRandom(seed: UInt64(count) &+ 5)
        var theta = FloatBuffer(random.floats(count)), buffer = FloatBuffer(count: count)
        let pool = try ThreadPool(threadCount: threads)
        for step in 1...3 {
            let g = FloatBuffer(random.floats(count, scale: 3))
            let kernel = SGDStep(lr: 0.05, momentum: variant.momentum, dampening: variant.dampening,
                                 weightDecay: variant.weightDecay, nesterov: variant.nesterov,
                                 maximize: variant.maximize, initializesBuffer: step == 1)
            ThreadPool.$current.withValue(pool) {
                theta.withUnsafeMutableBufferPointer { p in
                    g.withUnsafeBufferPointer { g in
                        buffer.withUnsafeMutableBufferPointer { b in
                            let bufferPointer = variant.momentum != 0 ? b.baseAddress : nil
                            if reference {
                                kernel.applyReference(param: p.baseAddress!, grad: g.baseAddress!,
                                                      momentumBuffer: bufferPointer, count: count)
                            } else {
                                kernel.apply(param: p.baseAddress!, grad: g.baseAddress!,
                                             momentumBuffer: bufferPointer, count: count)
                            }
                        }
                    }
                }
            }
        }
        return [theta.array, buffer.array]
    }

    @Test(arguments: variants)
    func fusedKernelEqualsScalarReferenceBitwiseOnOneAndTwoThreads(_ variant: Variant) throws {
        for count in AdamStepTests.lengths {
            let reference = try Self.run(variant, count: count, threads: 1, reference: true)
            for threads in [1, 2] {
                let fused = try Self.run(variant, count: count, threads: threads, reference: false)
                expectBitwiseEqual(["θ", "buffer"], fused, reference, "count \(count), \(threads) threads")
            }
        }
    }
}
