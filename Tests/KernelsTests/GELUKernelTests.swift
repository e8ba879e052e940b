import Kernels
import TestSupport
import Testing

/// The vectorized, threaded GELU kernel against its Double reference, in both forms, and its independence from
/// the thread count and from where an element sits (main loop or the last, partial vector).
struct GELUKernelTests {
    /// GELU(x) and g·GELU′(x) from the kernel for `x` and g = 1.
    static func run(_ x: [Float], tanh: Bool, threads: Int = 1, path: CPUPath = .current) throws
        -> (value: [Float], derivative: [Float]) {
        try CPUPath.$forced.withValue(path) { try run(x, tanh: tanh, threads: threads) }
    }

    static func run(_ x: [Float], tanh: Bool, threads: Int) throws -> (value: [Float], derivative: [Float]) {
        try ThreadPool.$current.withValue(ThreadPool(threadCount: threads)) {
            var y = [Float](repeating: .nan, count: x.count), dx = y
            let ones = [Float](repeating: 1, count: x.count), count = x.count
            x.withUnsafeBufferPointer { x in
                ones.withUnsafeBufferPointer { g in
                    y.withUnsafeMutableBufferPointer { y in
                        dx.withUnsafeMutableBufferPointer { dx in
                            guard let x = x.baseAddress, let g = g.baseAddress, let y = y.baseAddress,
                                  let dx = dx.baseAddress else { return }
                            GELUKernel.forward(x, y, count: count, tanh: tanh)
                            GELUKernel.backward(g, x, dx, count: count, tanh: tanh)
                        }
                    }
                }
            }
            return (y, dx)
        }
    }

    @Test(arguments: [false, true])
    func geluAndItsDerivativeMatchTheDoubleReference(tanh: Bool) throws {
        let x = stride(from: -12.0, through: 12.0, by: 1e-3).map { Float($0) } + [-1e20, -1e6, -50, 50, 1e6, 1e20, 0]
        for path in CPUPath.supported { try Self.matchesTheDoubleReference(x, tanh: tanh, path: path) }
    }

    static func matchesTheDoubleReference(_ x: [Float], tanh: Bool, path: CPUPath) throws {
        let (value, derivative) = try Self.run(x, tanh: tanh, path: path)
        var worst = (value: 0.0, derivative: 0.0)
        for (i, x) in x.enumerated() {
            let exactValue = Double(GELUKernel.reference(x, tanh: tanh))
            let exactDerivative = Double(GELUKernel.referenceDerivative(x, tanh: tanh))
            worst.value = max(worst.value, abs(Double(value[i]) - exactValue) / max(1, abs(exactValue)))
            worst.derivative = max(worst.derivative, abs(Double(derivative[i]) - exactDerivative))
        }
        // The exact form inherits erf's absolute error 4.5e-7, times ½|x| (largest near x = −5.5).
        #expect(worst.value <= (tanh ? 1.5e-7 : 1.1e-6), "\(path) GELU: error \(worst.value) relative to max(1, |GELU(x)|)")
        #expect(worst.derivative <= (tanh ? 1.5e-7 : 2.5e-7), "\(path) GELU′: absolute error \(worst.derivative)")
        let special = try Self.run([.nan, .infinity], tanh: tanh, path: path)
        #expect(special.value[0].isNaN && special.value[1] == .infinity)
        #expect(special.derivative[0].isNaN)
    }

    @Test(arguments: [false, true])
    func geluIsTheSameBitsOnAnyThreadCountAndAtAnyPosition(tanh: Bool) throws {
        var random = TestRandom(seed: 3)
        let x = random.floats(100_003, scale: 4)
        let one = try Self.run(x, tanh: tanh, threads: 1), two = try Self.run(x, tanh: tanh, threads: 2)
        #expect(one.value.map(\.bitPattern) == two.value.map(\.bitPattern))
        #expect(one.derivative.map(\.bitPattern) == two.derivative.map(\.bitPattern))
        // The last element sits in the partial vector; the same value in the main loop gives the same bits.
        let same = try Self.run([Float](repeating: x[5], count: 17), tanh: tanh)
        #expect(Set(same.value.map(\.bitPattern)).count == 1 && Set(same.derivative.map(\.bitPattern)).count == 1)
        #expect(try Self.run([], tanh: tanh).value.isEmpty)
        // Each family of paths gives one set of bits: AVX2 as AVX-512 (fused), generic as SSE2.
        var bits: [Bool: [UInt32]] = [:]
        for path in CPUPath.supported {
            let result = try Self.run(x, tanh: tanh, threads: 2, path: path)
            let pattern = result.value.map(\.bitPattern) + result.derivative.map(\.bitPattern)
            if let family = bits[path.isFused] {
                #expect(pattern == family, "\(path)")
            } else {
                bits[path.isFused] = pattern
            }
        }
    }
}
