import Kernels
import TestSupport
import Testing

struct GEMMTests {
    struct Shape: CustomTestStringConvertible, Sendable {
        let m: Int, n: Int, k: Int
        var testDescription: String { "\(m)x\(n)x\(k)" }
    }

    // Edges of every blocking level: micro-tile (6×32), row block (96), depth (256), panel (2048).
    static let shapes: [Shape] = [
        Shape(m: 1, n: 1, k: 1), Shape(m: 5, n: 31, k: 3), Shape(m: 6, n: 32, k: 7), Shape(m: 7, n: 33, k: 300),
        Shape(m: 97, n: 65, k: 257), Shape(m: 200, n: 10, k: 784), Shape(m: 13, n: 2100, k: 40),
        Shape(m: 64, n: 10, k: 0), Shape(m: 9, n: 16, k: 37), Shape(m: 3, n: 17, k: 20), Shape(m: 10, n: 784, k: 64),
        Shape(m: 11, n: 40, k: 5),
    ]

    /// C = op(A)·op(B) in Double, the plain triple loop.
    static func reference(_ s: Shape, _ a: [Float], _ b: [Float], ta: Bool, tb: Bool) -> [Double] {
        var c = [Double](repeating: 0, count: s.m * s.n)
        for i in 0..<s.m {
            for j in 0..<s.n {
                var sum = 0.0
                for p in 0..<s.k {
                    let x = ta ? a[p * s.m + i] : a[i * s.k + p]
                    let y = tb ? b[j * s.k + p] : b[p * s.n + j]
                    sum += Double(x) * Double(y)
                }
                c[i * s.n + j] = sum
            }
        }
        return c
    }

    static func multiply(_ s: Shape, _ a: [Float], _ b: [Float], ta: Bool, tb: Bool, initial: [Float],
                         accumulate: Bool, threads: Int, path: CPUPath = .current) throws -> [Float] {
        var c = initial
        try ThreadPool.$current.withValue(ThreadPool(threadCount: threads)) {
            CPUPath.$forced.withValue(path) {
                c.withUnsafeMutableBufferPointer { c in
                    GEMM.multiply(m: s.m, n: s.n, k: s.k, a: a, lda: ta ? s.m : s.k, transposeA: ta,
                                  b: b, ldb: tb ? s.k : s.n, transposeB: tb,
                                  c: c.baseAddress!, ldc: s.n, accumulate: accumulate)
                }
            }
        }
        return c
    }

    /// Every path this CPU runs, on 2 threads, gives the bits of the scalar reference in its family (fused or not):
    /// the packing, the tiles of each width, the edges, the transposed and unpacked and narrow products included.
    @Test(arguments: shapes + [Shape(m: 1_000, n: 17, k: 33), Shape(m: 12, n: 64, k: 100)])
    func everyPathIsTheScalarReferenceBitForBit(_ s: Shape) throws {
        var random = TestRandom(seed: UInt64(s.m * 7 + s.n * 13 + s.k))
        let a = random.floats(s.m * s.k), b = random.floats(s.k * s.n), initial = random.floats(s.m * s.n)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for accumulate in [false, true] {
                var expected = [initial, initial]
                for (index, fused) in [false, true].enumerated() {
                    expected[index].withUnsafeMutableBufferPointer { c in
                        GEMM.reference(m: s.m, n: s.n, k: s.k, a: a, lda: ta ? s.m : s.k, transposeA: ta, b: b,
                                       ldb: tb ? s.k : s.n, transposeB: tb, c: c.baseAddress!, ldc: s.n,
                                       accumulate: accumulate, fused: fused)
                    }
                }
                for path in CPUPath.supported {
                    let c = try Self.multiply(s, a, b, ta: ta, tb: tb, initial: initial, accumulate: accumulate,
                                              threads: 2, path: path)
                    #expect(c.map(\.bitPattern) == expected[path.isFused ? 1 : 0].map(\.bitPattern),
                            "\(path) \(s) ta \(ta) tb \(tb) accumulate \(accumulate)")
                }
            }
        }
    }

    @Test(arguments: shapes)
    func productsMatchADoubleReferenceForEveryTransposeAndDoNotDependOnThreads(_ s: Shape) throws {
        var random = TestRandom(seed: UInt64(s.m * 1_000_003 + s.n * 1009 + s.k))
        let a = random.floats(s.m * s.k), b = random.floats(s.k * s.n), initial = random.floats(s.m * s.n)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let expected = Self.reference(s, a, b, ta: ta, tb: tb)
            for accumulate in [false, true] {
                let one = try Self.multiply(s, a, b, ta: ta, tb: tb, initial: initial, accumulate: accumulate, threads: 1)
                let two = try Self.multiply(s, a, b, ta: ta, tb: tb, initial: initial, accumulate: accumulate, threads: 2)
                #expect(one.map(\.bitPattern) == two.map(\.bitPattern), "\(s) ta \(ta) tb \(tb): 1 vs 2 threads")
                let worst = one.indices.map { i -> Double in
                    let target = expected[i] + (accumulate ? Double(initial[i]) : 0)
                    return abs(Double(one[i]) - target) / (1 + abs(target))
                }.max() ?? 0
                #expect(worst < 1e-5 * Double(max(s.k, 1)).squareRoot(), "\(s) ta \(ta) tb \(tb) acc \(accumulate): \(worst)")
            }
        }
    }

    @Test func respectsLeadingDimensionsLargerThanTheMatrix() throws {
        // A 3×4 view inside a 3×6 array, B 4×2 inside 4×5, C 3×2 inside 3×7: the padding must stay untouched.
        let a: [Float] = (0..<18).map(Float.init), b: [Float] = (0..<20).map { Float($0) * 0.5 }
        var c = [Float](repeating: -1, count: 21)
        c.withUnsafeMutableBufferPointer { c in
            GEMM.multiply(m: 3, n: 2, k: 4, a: a, lda: 6, transposeA: false, b: b, ldb: 5, transposeB: false,
                          c: c.baseAddress!, ldc: 7, accumulate: false)
        }
        for i in 0..<3 {
            for j in 0..<7 {
                let expected: Float = j < 2 ? (0..<4).reduce(0) { $0 + a[i * 6 + $1] * b[$1 * 5 + j] } : -1
                #expect(c[i * 7 + j] == expected, "c[\(i)][\(j)]")
            }
        }
    }
}
