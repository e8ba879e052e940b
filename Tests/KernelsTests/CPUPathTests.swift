import Kernels
import TestSupport
import Testing

/// The C kernels on every instruction set this CPU runs (`ADAMW_CPU` forces one for a whole process; here each is
/// called by name): the same bits as the scalar Swift reference of their family (fused multiply-adds on AVX-512,
/// AVX2 and NEON; rounded twice on SSE2 and generic), on lengths that exercise the vector tail.
struct CPUPathTests {
    static let lengths = [0, 1, 15, 16, 17, 33, 1_000]

    @Test func theDetectedPathIsRunAndTheGenericOneAlways() {
        #expect(CPUPath.detected.isSupported && CPUPath.generic.isSupported)
        #expect(CPUPath.supported.contains(CPUPath.current))
        #if arch(x86_64)
        #expect(CPUPath.sse2.isSupported && !CPUPath.neon.isSupported)
        #elseif arch(arm64)
        #expect(CPUPath.neon.isSupported && !CPUPath.sse2.isSupported)
        #endif
    }

    /// θ, m, v and v̂max after three steps of `kernel` on `path` (nil: the scalar Swift reference), with float32 or
    /// bfloat16 moments, NaN, infinite and zero gradients included.
    static func adam(_ variant: AdamStepTests.Variant, count: Int, path: CPUPath?, bfloat16: Bool,
                     fused: Bool = true) -> [[UInt32]] {
        var random = TestRandom(seed: UInt64(count) &+ 5)
        var theta = random.floats(count)
        // bfloat16 moments take half a word each: the buffers are sized in words either way.
        var m = [Float](repeating: 0, count: count), v = m, vMax = m
        for step in 1...3 {
            var g = random.floats(count, scale: 2)
            if count > 20 { g[3] = .nan; g[10] = .infinity; g[17] = 0 }
            let kernel = AdamStep(
                lr: 1e-2, beta1: variant.beta1, beta2: 0.99, eps: 1e-8, step: step,
                decoupledDecay: variant.coupled ? nil : 1 - 1e-2 * 0.1, l2: variant.coupled ? 0.1 : 0,
                amsgrad: variant.amsgrad, maximize: variant.maximize)
            theta.withUnsafeMutableBufferPointer { p in
                g.withUnsafeMutableBufferPointer { g in
                    m.withUnsafeMutableBufferPointer { m in
                        v.withUnsafeMutableBufferPointer { v in
                            vMax.withUnsafeMutableBufferPointer { x in
                                let maximum = variant.amsgrad ? x.baseAddress : nil
                                if let path, let p = p.baseAddress, let g = g.baseAddress, let m = m.baseAddress,
                                   let v = v.baseAddress {
                                    let streams = AdamStep.Streams(param: p, grad: g, expAvg: m, expAvgSq: v,
                                                                   maxExpAvgSq: maximum,
                                                                   storage: bfloat16 ? .bfloat16 : .float32)
                                    kernel.run(streams, 0..<count, path: path)
                                } else if let p = p.baseAddress, let g = g.baseAddress, let m = m.baseAddress,
                                          let v = v.baseAddress {
                                    kernel.applyReference(param: p, grad: g, expAvg: m, expAvgSq: v,
                                                          maxExpAvgSq: maximum, count: count, fused: fused)
                                }
                            }
                        }
                    }
                }
            }
        }
        return [theta, m, v, vMax].map { $0.map(\.bitPattern) }
    }

    @Test(arguments: AdamStepTests.variants)
    func adamOnEveryPathIsTheReferenceBitForBit(_ variant: AdamStepTests.Variant) {
        for count in Self.lengths {
            let references = [false, true].map { Self.adam(variant, count: count, path: nil, bfloat16: false, fused: $0) }
            let fused16 = CPUPath.supported.last { $0.isFused }.map { Self.adam(variant, count: count, path: $0, bfloat16: true) }
            let unfused16 = Self.adam(variant, count: count, path: .generic, bfloat16: true)
            for path in CPUPath.supported {
                #expect(Self.adam(variant, count: count, path: path, bfloat16: false) == references[path.isFused ? 1 : 0],
                        "\(path), count \(count)")
                // bfloat16 moments: every path as the others of its family (each rounds the moments the same way).
                #expect(Self.adam(variant, count: count, path: path, bfloat16: true) == (path.isFused ? fused16 : unfused16),
                        "\(path) bf16, count \(count)")
            }
        }
    }
}
