import CKernels

/// C = A·Bᵀ (+ C) for a narrow C, with A [m, k] and B [n, k] both row-major: every element of C is a dot product
/// of two contiguous rows. For n up to ``narrowLimit`` this beats the packed GEMM, whose tiles would be mostly
/// padding and which would copy all of A into packed form — for a linear layer with 10 outputs, the whole batch.
///
/// The loops are C (`adamw_dot_rows`): blocks of rows of A and of B share their vector loads (4×5 on AVX-512).
/// Each element's dot product is summed in 16 lanes, the lanes added pairwise, then the last k mod 16 terms in
/// order: the same order on every path and thread count (``reference(m:n:k:a:lda:b:ldb:c:ldc:accumulate:fused:)``).
enum DotKernel {
    static let narrowLimit = 16
    /// Rows of A a task starts at a multiple of (the largest block of rows a path uses).
    static let rowBlock = 4

    static func multiply(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, path: Int32
    ) {
        let rowBlocks = (m + rowBlock - 1) / rowBlock
        let pool = ThreadPool.current
        let tasks = min(pool.threadCount, rowBlocks, max(1, m * n * k / (1 << 20)))
        let target = UncheckedPointer(c)
        let operands = (UncheckedPointer(UnsafeMutablePointer(mutating: a)), UncheckedPointer(UnsafeMutablePointer(mutating: b)))
        let runBlocks = { (task: Int) in
            let first = rowBlocks * task / tasks * rowBlock, last = min(m, rowBlocks * (task + 1) / tasks * rowBlock)
            adamw_dot_rows(path, first, last, m, n, k, operands.0.value, lda, operands.1.value, ldb, target.value, ldc,
                           accumulate ? 1 : 0)
        }
        if tasks == 1 { runBlocks(0) } else { pool.run(tasks: tasks, runBlocks) }
    }

    /// The kernel's order one element at a time: 16 lane sums of multiply-adds (fused or not), added pairwise, then
    /// the remaining terms.
    static func reference(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, fused: Bool
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var lanes = [Float](repeating: 0, count: 16)
                let whole = k / 16 * 16
                for p in 0..<whole {
                    let x = a[i * lda + p], y = b[j * ldb + p]
                    lanes[p % 16] = fused ? lanes[p % 16].addingProduct(x, y) : lanes[p % 16] + x * y
                }
                var width = 8
                while width >= 1 {
                    for lane in 0..<width { lanes[lane] += lanes[lane + width] }
                    width /= 2
                }
                var total = lanes[0]
                for p in whole..<k {
                    let x = a[i * lda + p], y = b[j * ldb + p]
                    total = fused ? total.addingProduct(x, y) : total + x * y
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + total : total
            }
        }
    }
}
