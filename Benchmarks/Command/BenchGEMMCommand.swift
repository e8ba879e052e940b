import ArgumentParser
import Benchmarks
import CommandSupport
import Foundation
import Kernels

struct BenchGEMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of the GEMM on square and training-shaped products, next to numpy's OpenBLAS.",
        discussion: """
            OpenBLAS is measured in the same run through `python3 -c "import numpy"` when numpy is installed \
            (OPENBLAS_NUM_THREADS set to the same thread count). Build with -c release.
            """
    )

    @Option(help: "Only this many threads (default: 1 and every processor).")
    var threads: Int?

    @Option(help: "Only square products of this size.")
    var size: Int?

    @Flag(help: "Skip the numpy/OpenBLAS comparison.")
    var noNumpy = false

    func validate() throws {
        try ThreadsOption.check(threads)
        if let size, size < 1 { throw ValidationError("--size must be at least 1, got \(size)") }
        if let size {
            try MemoryLimit.require("--size", String(size), needs: MemoryLimit.product([size, size, 4 * 4]),
                                    for: "three matrices of size × size Floats and their packed copies")
        }
    }

    func run() throws {
        let shapes = size.map { [GEMMBenchmark.Shape(m: $0, n: $0, k: $0, label: "square")] }
            ?? GEMMBenchmark.defaultShapes
        let threadCounts = threads.map { [$0] } ?? Array(Set([1, ThreadPool.machine.threadCount])).sorted()
        let benchmark = GEMMBenchmark()
        print("shape (m x n x k)          label            threads   GFLOP/s  OpenBLAS  ratio")
        for shape in shapes {
            for threadCount in threadCounts {
                let ours = try benchmark.measure(shape, threads: threadCount)
                let blas = noNumpy ? nil : NumpyGEMM.measure(shape, threads: threadCount)
                let columns = [
                    pad(shape.description, 26), pad(shape.label, 16), pad("\(threadCount)", 7, left: true),
                    pad(format(ours, 1), 9, left: true),
                    pad(blas.map { format($0, 1) } ?? "-", 9, left: true),
                    pad(blas.map { format(ours / $0, 2) } ?? "-", 6, left: true),
                ]
                print(columns.joined(separator: " "))
                var summary = "summary job=gemm m=\(shape.m) n=\(shape.n) k=\(shape.k) threads=\(threadCount) "
                    + "gflops=\(format(ours, 1))"
                if let blas { summary += " openblas_gflops=\(format(blas, 1)) ratio=\(format(ours / blas, 2))" }
                print(summary)
            }
        }
    }

    private func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return left ? padding + text : text + padding
    }
}

/// numpy's matmul (OpenBLAS sgemm) on the same shape, timed the same way, in a python3 subprocess.
enum NumpyGEMM {
    static func measure(_ shape: GEMMBenchmark.Shape, threads: Int) -> Double? {
        let script = """
            import time, numpy as np
            m, n, k, ta, tb = \(shape.m), \(shape.n), \(shape.k), \(shape.transposeA ? "True" : "False"), \(shape.transposeB ? "True" : "False")
            rng = np.random.default_rng(0)
            a = rng.random((k, m) if ta else (m, k), dtype=np.float32)
            b = rng.random((n, k) if tb else (k, n), dtype=np.float32)
            A = a.T if ta else a
            B = b.T if tb else b
            c = np.empty((m, n), dtype=np.float32)
            np.matmul(A, B, out=c)
            reps = 1
            while True:
                t = time.perf_counter()
                for _ in range(reps): np.matmul(A, B, out=c)
                if time.perf_counter() - t >= 0.05 or reps >= 1 << 20: break
                reps *= 2
            rates = []
            for _ in range(5):
                t = time.perf_counter()
                for _ in range(reps): np.matmul(A, B, out=c)
                rates.append(2.0 * m * n * k * reps / (time.perf_counter() - t) / 1e9)
            print(sorted(rates)[2])
            """
        let output = PythonScript.output(script, environment: ["OPENBLAS_NUM_THREADS": "\(threads)", "OMP_NUM_THREADS": "\(threads)"])
        return output.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
