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

    static func run(_ variant: Variant, count: Int, threads: Int, reference: Bool,
                    path: CPUPath = .current) throws -> [[Float]] {
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
                                                      momentumBuffer: bufferPointer, count: count, fused: path.isFused)
                            } else {
                                CPUPath.$forced.withValue(path) {
                                    kernel.apply(param: p.baseAddress!, grad: g.baseAddress!,
                                                 momentumBuffer: bufferPointer, count: count)
                                }
                            }
                        }
                    }
                }
            }
        }
        return [theta.array, buffer.array]
    }

    /// On every path this CPU runs: the scalar reference of the path's family, bit for bit.
    @Test(arguments: variants)
    func everyPathEqualsItsScalarReferenceBitwiseOnOneAndTwoThreads(_ variant: Variant) throws {
        for count in AdamStepTests.lengths {
            for path in CPUPath.supported {
                let reference = try Self.run(variant, count: count, threads: 1, reference: true, path: path)
                for threads in [1, 2] {
                    let fused = try Self.run(variant, count: count, threads: threads, reference: false, path: path)
                    expectBitwiseEqual(["θ", "buffer"], fused, reference, "\(path), count \(count), \(threads) threads")
                }
            }
        }
    }

    /// SGD as PyTorch's docs write it, in Double: an independent check of the kernel's arithmetic.
    static func textbook(_ variant: Variant, count: Int) -> [[Double]] {
        var random = TestRandom(seed: UInt64(count) &+ 5)
        var theta = random.floats(count).map(Double.init), buffer = [Double](repeating: 0, count: count)
        for step in 1...3 {
            let grads = random.floats(count, scale: 3)
            for i in 0..<count {
                var g = Double(grads[i])
                if variant.maximize { g = -g }
                g += variant.weightDecay * theta[i]
                if variant.momentum != 0 {
                    buffer[i] = step == 1 ? g : variant.momentum * buffer[i] + (1 - variant.dampening) * g
                    g = variant.nesterov ? g + variant.momentum * buffer[i] : buffer[i]
                }
                theta[i] -= 0.05 * g
            }
        }
        return [theta, buffer]
    }

    @Test(arguments: variants)
    func fusedKernelMatchesTheTextbookFormulaInDouble(_ variant: Variant) throws {
        let count = 1_000_003
        let fused = try Self.run(variant, count: count, threads: 2, reference: false)
        let expected = Self.textbook(variant, count: count)
        for (name, (ours, exact)) in zip(["θ", "buffer"], zip(fused, expected)) {
            let mismatch = firstMismatch(ours, exact.map { Float($0) }, atol: 1e-6, rtol: 1e-5)
            #expect(mismatch == nil, "\(name): \(mismatch ?? "")")
        }
    }
}
