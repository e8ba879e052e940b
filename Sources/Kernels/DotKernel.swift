/// C = A·Bᵀ (+ C) for a narrow C, with A [m, k] and B [n, k] both row-major: every element of C is a dot product
/// of two contiguous rows. For n up to ``narrowLimit`` this beats the packed GEMM, whose tiles would be mostly
/// padding and which would copy all of A into packed form — for a linear layer with 10 outputs, the whole batch.
///
/// Blocks of 4 rows of A and 5 rows of B keep 20 SIMD16 accumulators in registers; each step along k loads 9
/// vectors for 20 FMAs. Each element's dot product is summed in the same order whatever the thread count.
enum DotKernel {
    static let narrowLimit = 16
    static let rowBlock = 4
    static let columnBlock = 5

    static func multiply(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let rowBlocks = (m + rowBlock - 1) / rowBlock
        let pool = ThreadPool.current
        let tasks = min(pool.threadCount, rowBlocks, max(1, m * n * k / (1 << 20)))
        let target = UncheckedPointer(c)
        let operands = (UncheckedPointer(UnsafeMutablePointer(mutating: a)), UncheckedPointer(UnsafeMutablePointer(mutating: b)))
        let runBlocks = { (task: Int) in
            let first = rowBlocks * task / tasks, last = rowBlocks * (task + 1) / tasks
            for block in first..<last {
                var j = 0
                while j < n {
                    block4x5(rowStart: block * rowBlock, m: m, columnStart: j, n: n, k: k,
                             a: operands.0.value, lda: lda, b: operands.1.value, ldb: ldb,
                             c: target.value, ldc: ldc, accumulate: accumulate)
                    j += columnBlock
                }
            }
        }
        if tasks == 1 { runBlocks(0) } else { pool.run(tasks: tasks, runBlocks) }
    }

    /// One 4×5 block of C. Rows or columns past the edge read the last valid row again and are not written.
    @inline(__always)
    static func block4x5(
        rowStart: Int, m: Int, columnStart: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        typealias V = SIMD16<Float>
        func rowA(_ i: Int) -> UnsafePointer<Float> { a + min(rowStart + i, m - 1) * lda }
        func rowB(_ j: Int) -> UnsafePointer<Float> { b + min(columnStart + j, n - 1) * ldb }
        let (a0, a1, a2, a3) = (rowA(0), rowA(1), rowA(2), rowA(3))
        let (b0, b1, b2, b3, b4) = (rowB(0), rowB(1), rowB(2), rowB(3), rowB(4))
        var s00 = V(), s01 = V(), s02 = V(), s03 = V(), s04 = V()
        var s10 = V(), s11 = V(), s12 = V(), s13 = V(), s14 = V()
        var s20 = V(), s21 = V(), s22 = V(), s23 = V(), s24 = V()
        var s30 = V(), s31 = V(), s32 = V(), s33 = V(), s34 = V()
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ at: Int) -> V {
            UnsafeRawPointer(p + at).loadUnaligned(as: V.self)
        }
        var p = 0
        while p + 16 <= k {
            let x0 = load(a0, p), x1 = load(a1, p), x2 = load(a2, p), x3 = load(a3, p)
            var y = load(b0, p)
            s00 = s00.addingProduct(x0, y); s10 = s10.addingProduct(x1, y)
            s20 = s20.addingProduct(x2, y); s30 = s30.addingProduct(x3, y)
            y = load(b1, p)
            s01 = s01.addingProduct(x0, y); s11 = s11.addingProduct(x1, y)
            s21 = s21.addingProduct(x2, y); s31 = s31.addingProduct(x3, y)
            y = load(b2, p)
            s02 = s02.addingProduct(x0, y); s12 = s12.addingProduct(x1, y)
            s22 = s22.addingProduct(x2, y); s32 = s32.addingProduct(x3, y)
            y = load(b3, p)
            s03 = s03.addingProduct(x0, y); s13 = s13.addingProduct(x1, y)
            s23 = s23.addingProduct(x2, y); s33 = s33.addingProduct(x3, y)
            y = load(b4, p)
            s04 = s04.addingProduct(x0, y); s14 = s14.addingProduct(x1, y)
            s24 = s24.addingProduct(x2, y); s34 = s34.addingProduct(x3, y)
            p += 16
        }
        // The 20 partial sums, in row-major order, written to the stack for the edge-aware epilogue.
        var sums = (s00, s01, s02, s03, s04, s10, s11, s12, s13, s14, s20, s21, s22, s23, s24, s30, s31, s32, s33, s34)
        withUnsafeBytes(of: &sums) { raw in
            let partials = raw.bindMemory(to: V.self)
            for i in 0..<min(rowBlock, m - rowStart) {
                let rowOfA = rowA(i)
                for j in 0..<min(columnBlock, n - columnStart) {
                    var total = partials[i * columnBlock + j].sum()
                    let rowOfB = rowB(j)
                    for q in p..<k { total = total.addingProduct(rowOfA[q], rowOfB[q]) }
                    let out = c + (rowStart + i) * ldc + columnStart + j
                    out.pointee = accumulate ? out.pointee + total : total
                }
            }
        }
    }
}
