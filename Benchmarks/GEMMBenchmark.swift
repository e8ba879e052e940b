import Kernels

/// Times ``GEMM/multiply`` on square and training-shaped products and reports GFLOP/s (2·m·n·k per product).
public struct GEMMBenchmark {
    /// One product to time: C[m×n] = op(A)·op(B) with inner dimension k.
    public struct Shape: Sendable, CustomStringConvertible {
        public let m: Int, n: Int, k: Int
        public let transposeA: Bool, transposeB: Bool
        public let label: String

        public init(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, label: String) {
            self.m = m; self.n = n; self.k = k
            self.transposeA = transposeA; self.transposeB = transposeB
            self.label = label
        }

        public var description: String { "\(m)x\(n)x\(k)\(transposeA ? " Aᵀ" : "")\(transposeB ? " Bᵀ" : "")" }
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    /// Square products and the three products of an MLP layer 784→1024 at batch 128.
    public static let defaultShapes: [Shape] = [256, 512, 1024, 2048].map { Shape(m: $0, n: $0, k: $0, label: "square") }
        + [
            Shape(m: 128, n: 1024, k: 784, transposeB: true, label: "forward  X·Wᵀ"),
            Shape(m: 128, n: 784, k: 1024, label: "backward dY·W"),
            Shape(m: 1024, n: 784, k: 128, transposeA: true, label: "backward dYᵀ·X"),
            // adamw gpt (B·T = 768 rows, C = 128): c_attn forward, the MLP's c_proj forward, c_fc's dX and dW.
            Shape(m: 768, n: 384, k: 128, transposeB: true, label: "gpt c_attn X·Wᵀ"),
            Shape(m: 768, n: 128, k: 512, transposeB: true, label: "gpt mlp c_proj X·Wᵀ"),
            Shape(m: 768, n: 128, k: 512, label: "gpt c_fc dY·W"),
            Shape(m: 512, n: 128, k: 768, transposeA: true, label: "gpt c_fc dYᵀ·X"),
        ]

    public var samples = 5
    public var minimumSampleSeconds = 0.05

    public init() {}

    /// Median GFLOP/s of `shape` on `threads` threads.
    public func measure(_ shape: Shape, threads: Int) throws -> Double {
        let pool = try ThreadPool(threadCount: threads)
        var random: UInt32 = 12345
        func next() -> Float {
            random = random &* 1_664_525 &+ 1_013_904_223
            return Float(random >> 8) / Float(1 << 24) - 0.5
        }
        let a = FloatBuffer((0..<(shape.m * shape.k)).map { _ in next() })
        let b = FloatBuffer((0..<(shape.k * shape.n)).map { _ in next() })
        var c = FloatBuffer(count: shape.m * shape.n)
        let run = {
            a.withUnsafePointer { a in
                b.withUnsafePointer { b in
                    c.withUnsafeMutablePointer { c in
                        GEMM.multiply(
                            m: shape.m, n: shape.n, k: shape.k,
                            a: a, lda: shape.transposeA ? shape.m : shape.k, transposeA: shape.transposeA,
                            b: b, ldb: shape.transposeB ? shape.k : shape.n, transposeB: shape.transposeB,
                            c: c, ldc: shape.n, accumulate: false)
                    }
                }
            }
        }
        return ThreadPool.$current.withValue(pool) {
            run()
            var repeats = 1
            while time(repeats, run) < minimumSampleSeconds && repeats < 1 << 20 { repeats *= 2 }
            let rates = (0..<samples).map { _ in shape.flops * Double(repeats) / time(repeats, run) / 1e9 }
            return median(rates)
        }
    }

    private func time(_ repeats: Int, _ body: () -> Void) -> Double {
        let start = monotonicSeconds()
        for _ in 0..<repeats { body() }
        return monotonicSeconds() - start
    }
}
