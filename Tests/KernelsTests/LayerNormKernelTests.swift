import Kernels
import TestSupport
import Testing

/// The SIMD, threaded layer norm against a plain Double loop, on row lengths around the vector width and row
/// counts across the task blocks, and bit for bit on one and two threads.
struct LayerNormKernelTests {
    struct Result: Equatable {
        var y: [Float], mean: [Float], rstd: [Float], dx: [Float], dWeight: [Float], dBias: [Float]
    }

    static func run(
        _ x: [Float], _ g: [Float], weight: [Float]?, bias: [Float]?, rows: Int, n: Int, threads: Int, path: CPUPath
    ) throws -> Result {
        try CPUPath.$forced.withValue(path) { try run(x, g, weight: weight, bias: bias, rows: rows, n: n, threads: threads) }
    }

    static func run(
        _ x: [Float], _ g: [Float], weight: [Float]?, bias: [Float]?, rows: Int, n: Int, threads: Int
    ) throws -> Result {
        var result = Result(y: .init(repeating: .nan, count: rows * n), mean: .init(repeating: .nan, count: rows),
                            rstd: .init(repeating: .nan, count: rows), dx: .init(repeating: .nan, count: rows * n),
                            dWeight: .init(repeating: .nan, count: n), dBias: .init(repeating: .nan, count: n))
        let gamma = FloatBuffer(weight ?? []), beta = FloatBuffer(bias ?? [])
        let input = FloatBuffer(x), upstream = FloatBuffer(g)
        try ThreadPool.$current.withValue(ThreadPool(threadCount: threads)) {
            input.withUnsafePointer { x in
                upstream.withUnsafePointer { g in
                    gamma.withUnsafePointer { gamma in
                        beta.withUnsafePointer { beta in
                            let (w, b) = (weight == nil ? nil : gamma, bias == nil ? nil : beta)
                            result.y.withUnsafeMutableBufferPointer { y in
                                result.mean.withUnsafeMutableBufferPointer { mean in
                                    result.rstd.withUnsafeMutableBufferPointer { rstd in
                                        LayerNormKernel.forward(x, weight: w, bias: b, y.baseAddress!, mean: mean.baseAddress!,
                                                                rstd: rstd.baseAddress!, rows: rows, n: n, eps: 1e-5)
                                        result.dx.withUnsafeMutableBufferPointer { dx in
                                            result.dWeight.withUnsafeMutableBufferPointer { dw in
                                                result.dBias.withUnsafeMutableBufferPointer { db in
                                                    LayerNormKernel.backward(
                                                        g, x, weight: w, mean: mean.baseAddress!, rstd: rstd.baseAddress!,
                                                        dx: dx.baseAddress!, dWeight: dw.baseAddress!,
                                                        dBias: db.baseAddress!, rows: rows, n: n)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// The same computation in Double, row by row.
    static func reference(_ x: [Float], _ g: [Float], weight: [Float]?, bias: [Float]?, rows: Int, n: Int)
        -> (y: [Double], dx: [Double], dWeight: [Double], dBias: [Double])
    {
        var y = [Double](repeating: 0, count: rows * n), dx = y
        var dWeight = [Double](repeating: 0, count: n), dBias = dWeight
        for r in 0..<rows {
            let row = (0..<n).map { Double(x[r * n + $0]) }
            let mean = row.reduce(0, +) / Double(n)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            let rstd = 1 / (variance + 1e-5).squareRoot()
            let xhat = row.map { ($0 - mean) * rstd }
            let gr = (0..<n).map { Double(g[r * n + $0]) }
            let dxhat = (0..<n).map { gr[$0] * Double(weight?[$0] ?? 1) }
            let m1 = dxhat.reduce(0, +) / Double(n)
            let m2 = zip(dxhat, xhat).reduce(0) { $0 + $1.0 * $1.1 } / Double(n)
            for j in 0..<n {
                y[r * n + j] = xhat[j] * Double(weight?[j] ?? 1) + Double(bias?[j] ?? 0)
                dx[r * n + j] = rstd * (dxhat[j] - m1 - xhat[j] * m2)
                dWeight[j] += gr[j] * xhat[j]
                dBias[j] += gr[j]
            }
        }
        return (y, dx, dWeight, dBias)
    }

    @Test(arguments: [(1, 6), (3, 16), (130, 37), (200, 128)])
    func layerNormMatchesADoubleLoopOnAnyThreadCount(rows: Int, n: Int) throws {
        var random = TestRandom(seed: UInt64(rows * n))
        var x = random.floats(rows * n, scale: 3)
        // A row far from zero (100 ± 3): the two-pass variance keeps its digits. (Near 1000 a Float mean is itself
        // only good to 3e-5, 1e-5 of σ, as PyTorch's.)
        for j in 0..<n { x[j] += 100 }
        let g = random.floats(rows * n), weight = random.floats(n), bias = random.floats(n)
        for (w, b) in [(weight, bias), (nil, nil)] as [([Float]?, [Float]?)] {
            var families: [Bool: Result] = [:]
            for path in CPUPath.supported {
                let ours = try Self.run(x, g, weight: w, bias: b, rows: rows, n: n, threads: 1, path: path)
                // Each family of paths gives one set of bits: AVX2 as AVX-512 (fused), generic as SSE2.
                if let family = families[path.isFused] {
                    #expect(ours == family, "\(path)")
                } else {
                    families[path.isFused] = ours
                }
                let exact = Self.reference(x, g, weight: w, bias: b, rows: rows, n: n)
                func largestError(_ a: [Float], _ b: [Double]) -> Double {
                    let scale = max(1, b.map(abs).max() ?? 0)
                    return zip(a, b).map { abs(Double($0) - $1) }.max().map { $0 / scale } ?? 0
                }
                #expect(largestError(ours.y, exact.y) <= 1e-5, "y")
                #expect(largestError(ours.dx, exact.dx) <= 1e-5, "dx")
                #expect(largestError(ours.dWeight, exact.dWeight) <= 1e-5, "dWeight")
                #expect(largestError(ours.dBias, exact.dBias) <= 1e-5, "dBias")
                let two = try Self.run(x, g, weight: w, bias: b, rows: rows, n: n, threads: 2, path: path)
                #expect(ours.y.map(\.bitPattern) == two.y.map(\.bitPattern) && ours.dx.map(\.bitPattern) == two.dx.map(\.bitPattern))
                #expect(ours.dWeight.map(\.bitPattern) == two.dWeight.map(\.bitPattern)
                        && ours.dBias.map(\.bitPattern) == two.dBias.map(\.bitPattern))
            }
        }
    }
}
