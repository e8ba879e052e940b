import CKernels

/// Single-precision matrix multiplication, C = op(A)·op(B) (+ C), for row-major matrices.
///
/// The structure is BLIS's: B is packed into panels of `kc` rows in strips of ``nr`` columns, A into blocks of
/// `mc` rows in strips of ``mr`` rows, and a register-blocked micro-kernel computes one `mr`×`nr` tile of C from a
/// strip of each, keeping the whole tile in registers. Blocks of A's rows are spread over the threads of
/// ``ThreadPool/current``; each element of C is computed by one thread, always in the same order over k, so the
/// result is bitwise the same for every thread count.
///
/// The packing and the micro-kernel are C (`CKernels`' `adamw_gemm_*`), compiled per instruction set and taken on
/// ``CPUPath/current``; this type keeps the blocking and the threads. ``reference(m:n:k:a:lda:transposeA:b:ldb:transposeB:c:ldc:accumulate:fused:)``
/// is the scalar order they follow.
///
/// Either operand may be transposed (packing reads it with the other stride), so the backward passes of a
/// linear layer — dX = dY·W and dW = dYᵀ·X — need no transposed copies.
public enum GEMM {
    /// Rows of a micro-tile.
    public static let mr = 6
    /// Columns of a micro-tile: two SIMD16 vectors.
    public static let nr = 32
    /// Depth of a packed panel: one strip of B (kc × nr) stays in L1, one block of A (mc × kc) in L2.
    static let kc = 256
    /// The largest block of A's rows.
    static let mcMax = 96
    /// The widest panel of B.
    static let ncMax = 2048

    /// Computes `c = op(a)·op(b)`, or `c += op(a)·op(b)` when `accumulate` is set.
    ///
    /// - Parameters:
    ///   - m, n, k: op(A) is m×k, op(B) is k×n, C is m×n.
    ///   - a: A, row-major with row stride `lda`: m×k, or k×m when `transposeA` (then op(A) = Aᵀ).
    ///   - b: B, row-major with row stride `ldb`: k×n, or n×k when `transposeB`.
    ///   - c: C, row-major with row stride `ldc`.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM dimensions must not be negative")
        guard m > 0 && n > 0 else { return }
        let path = CPUPath.current.code
        guard k > 0 else {
            if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        if !transposeA && transposeB && n <= DotKernel.narrowLimit {
            // A few outputs per row (a classifier's last layer): dot products along k beat packing A.
            DotKernel.multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                               accumulate: accumulate, path: path)
            return
        }
        let a = Operand(base: a, rowStride: transposeA ? 1 : lda, columnStride: transposeA ? lda : 1)
        let b = Operand(base: b, rowStride: transposeB ? 1 : ldb, columnStride: transposeB ? ldb : 1)
        if m <= 2 * mr && !transposeB && n >= nr && k <= kc {
            // A few rows of C (the weight gradient of a 10-class head, dYᵀ·X): each element of B is used by at
            // most two row strips, so packing B would cost as much as the product. Read both in place.
            multiplyUnpacked(m: m, n: n, k: k, a: a, b: b.base, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate,
                             path: path)
            return
        }
        if n < nr && m > n {
            // A skinny C (a linear layer with 10 outputs) would fill a third of each 6×32 tile: compute
            // Cᵀ = op(B)ᵀ·op(A)ᵀ instead, whose tiles are full, and write it through C's transposed strides.
            let target = Target(base: c, rowStride: 1, columnStride: ldc)
            multiply(m: n, n: m, k: k, a: b.transposed, b: a.transposed, c: target, accumulate: accumulate, path: path)
        } else {
            let target = Target(base: c, rowStride: ldc, columnStride: 1)
            multiply(m: m, n: n, k: k, a: a, b: b, c: target, accumulate: accumulate, path: path)
        }
    }

    static func multiply(m: Int, n: Int, k: Int, a: Operand, b: Operand, c: Target, accumulate: Bool, path: Int32) {
        let pool = ThreadPool.current
        // Enough row blocks for every thread, each a multiple of mr and at most mcMax rows.
        let threads = min(pool.threadCount, max(1, (m * n * k) / (1 << 18)))
        let rowsPerBlock = min(mcMax, roundUp((m + threads - 1) / threads, mr))
        let rowBlocks = (m + rowsPerBlock - 1) / rowsPerBlock
        let nc = min(ncMax, roundUp(n, nr))

        pool.withScratch(floats: kc * nc) { packedB in
            var jc = 0
            while jc < n {
                let ncCurrent = min(nc, n - jc)
                var pc = 0
                while pc < k {
                    let kcCurrent = min(kc, k - pc)
                    packB(b, rows: pc, kcCurrent, columns: jc, ncCurrent, into: packedB, pool: pool,
                          wakesWorkers: threads > 1 && rowBlocks > 1, path: path)
                    let overwrite = !accumulate && pc == 0
                    let panel = UncheckedPointer(packedB)
                    let run = { (block: Int) in
                        let ic = block * rowsPerBlock
                        let mcCurrent = min(rowsPerBlock, m - ic)
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: mcMax * kc + 16) { scratch in
                            guard let start = scratch.baseAddress else { return }
                            let packedA = alignedStart(start)
                            var strips: adamw_gemm_strips
                            if a.columnStride == 1 && ncCurrent <= 8 * nr {
                                // A narrow panel (n ≤ 256) and contiguous rows of A: the micro-kernel reads whole
                                // strips of six rows where they are, as packing them, used by at most 8 tiles,
                                // cost up to a quarter of the tiles' time (n = 128: 235 → 252 GFLOP/s on one
                                // thread). Wider panels amortize the packing, and six strided streams lost 6% on
                                // 2048² there. A last, partial strip is packed, so that no row past A's end is read.
                                let whole = mcCurrent / mr
                                if whole * mr < mcCurrent {
                                    packA(a, rows: ic + whole * mr, mcCurrent - whole * mr, columns: pc, kcCurrent,
                                          into: packedA, path: path)
                                }
                                strips = adamw_gemm_strips(
                                    base: a.base + ic * a.rowStride + pc, row_stride: a.rowStride, step: 1,
                                    strip_stride: mr * a.rowStride, in_place: whole, packed: packedA)
                            } else {
                                packA(a, rows: ic, mcCurrent, columns: pc, kcCurrent, into: packedA, path: path)
                                strips = adamw_gemm_strips(base: packedA, row_stride: 1, step: mr,
                                                           strip_stride: kcCurrent * mr, in_place: 0, packed: packedA)
                            }
                            let target = c.offset(row: ic, column: jc)
                            adamw_gemm_macro(path, &strips, mcCurrent, ncCurrent, kcCurrent, panel.value, target.base,
                                             target.rowStride, target.columnStride, overwrite ? 1 : 0)
                        }
                    }
                    if rowBlocks == 1 || threads == 1 {
                        for block in 0..<rowBlocks { run(block) }
                    } else {
                        pool.run(tasks: rowBlocks, run)
                    }
                    pc += kcCurrent
                }
                jc += ncCurrent
            }
        }
    }

    /// C (+)= op(A)·B with B row-major, reading both in place: whole 32-column strips with the micro-kernel, the
    /// last partial strip through the packed path.
    static func multiplyUnpacked(
        m: Int, n: Int, k: Int, a: Operand, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, path: Int32
    ) {
        let wholeColumns = n / nr * nr
        withUnsafeTemporaryAllocation(of: Float.self, capacity: mr * nr + mr * kc) { scratch in
            guard let tile = scratch.baseAddress else { return }
            let packedRows = tile + mr * nr
            var ir = 0
            while ir < m {
                let height = min(mr, m - ir)
                // A partial strip of rows is packed (zero-padded), so that no row past A's end is read.
                if height < mr { packA(a, rows: ir, height, columns: 0, k, into: packedRows, path: path) }
                var jr = 0
                while jr < wholeColumns {
                    let target = c + ir * ldc + jr
                    if height == mr {
                        adamw_gemm_tile(path, k, a.base + ir * a.rowStride, a.rowStride, a.columnStride, b + jr, ldb,
                                        target, ldc, accumulate ? 0 : 1)
                    } else {
                        adamw_gemm_tile(path, k, packedRows, 1, mr, b + jr, ldb, tile, nr, 1)
                        for row in 0..<height {
                            let out = target + row * ldc
                            for j in 0..<nr { out[j] = accumulate ? out[j] + tile[row * nr + j] : tile[row * nr + j] }
                        }
                    }
                    jr += nr
                }
                ir += mr
            }
        }
        if wholeColumns < n {
            multiply(m: m, n: n - wholeColumns, k: k, a: a, b: Operand(base: b + wholeColumns, rowStride: ldb, columnStride: 1),
                     c: Target(base: c + wholeColumns, rowStride: ldc, columnStride: 1), accumulate: accumulate,
                     path: path)
        }
    }

    static func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }

    /// A read-only matrix addressed as base[row·rowStride + column·columnStride].
    struct Operand: @unchecked Sendable {
        let base: UnsafePointer<Float>
        let rowStride: Int
        let columnStride: Int

        /// The same memory read as the transposed matrix.
        var transposed: Operand { Operand(base: base, rowStride: columnStride, columnStride: rowStride) }
    }

    /// The output matrix, addressed as base[row·rowStride + column·columnStride].
    struct Target: @unchecked Sendable {
        let base: UnsafeMutablePointer<Float>
        let rowStride: Int
        let columnStride: Int

        func offset(row: Int, column: Int) -> Target {
            Target(base: base + row * rowStride + column * columnStride, rowStride: rowStride,
                   columnStride: columnStride)
        }
    }

    /// The first 64-byte-aligned element of `pointer`'s allocation (which has 16 spare elements).
    /// Advancing the pointer (rather than rebuilding one from an address) needs no unwrap: a Float pointer is
    /// 4-byte aligned, so the distance to the next 64-byte boundary is a whole number of 0...15 elements.
    @inline(__always)
    static func alignedStart(_ pointer: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        let bytesToBoundary = (64 - (Int(bitPattern: pointer) & 63)) & 63
        return pointer + bytesToBoundary / MemoryLayout<Float>.stride
    }

    /// Packs B[rows, columns] into strips of nr columns: strip s holds kc rows of nr contiguous floats,
    /// zero-padded past the last column.
    ///
    /// The strips are packed on the pool when there are many, or when the product that follows runs on the pool
    /// anyway (`wakesWorkers`): sleeping workers then wake while B is packed, not during the first tiles. A wake
    /// takes tens of µs here, as long as a whole 768×384×128 product on one thread; issued late, it left the
    /// caller doing most of the tiles alone.
    static func packB(
        _ b: Operand, rows row0: Int, _ kc: Int, columns column0: Int, _ nc: Int,
        into packed: UnsafeMutablePointer<Float>, pool: ThreadPool, wakesWorkers: Bool = false, path: Int32
    ) {
        let strips = (nc + nr - 1) / nr
        let source = b.base + row0 * b.rowStride + column0 * b.columnStride
        if strips >= 2 && (wakesWorkers || (strips >= 4 && kc * nc >= 1 << 16)) {
            let (input, output) = (UncheckedPointer(UnsafeMutablePointer(mutating: source)), UncheckedPointer(packed))
            pool.run(tasks: strips) { strip in
                adamw_gemm_pack_b(path, input.value, b.rowStride, b.columnStride, kc, nc, strip, 1, output.value)
            }
        } else {
            adamw_gemm_pack_b(path, source, b.rowStride, b.columnStride, kc, nc, 0, strips, packed)
        }
    }

    /// Packs A[rows, columns] into strips of mr rows: strip s holds, for each of kc columns, mr floats,
    /// zero-padded past the last row.
    static func packA(
        _ a: Operand, rows row0: Int, _ mc: Int, columns column0: Int, _ kc: Int,
        into packed: UnsafeMutablePointer<Float>, path: Int32
    ) {
        adamw_gemm_pack_a(path, a.base + row0 * a.rowStride + column0 * a.columnStride, a.rowStride, a.columnStride,
                          mc, kc, packed)
    }

    /// C = op(A)·op(B) (+ C) one element at a time, in the order the kernels follow: along k in panels of ``kc``,
    /// each panel one chain of multiply-adds from 0, fused (`fused`, the FMA paths) or rounded twice, then stored
    /// (the first panel, without `accumulate`) or added to C. A narrow C (n ≤ 16, B transposed) is summed in 16 lanes
    /// instead, as ``DotKernel`` sums it. Every path's result is this one's, bit for bit.
    public static func reference(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool, c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool, fused: Bool
    ) {
        if !transposeA && transposeB && n <= DotKernel.narrowLimit && k > 0 {
            DotKernel.reference(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                                accumulate: accumulate, fused: fused)
            return
        }
        for i in 0..<m {
            for j in 0..<n {
                if k == 0 && !accumulate { c[i * ldc + j] = 0 }
                for start in stride(from: 0, to: k, by: kc) {
                    var total: Float = 0
                    for p in start..<min(k, start + kc) {
                        let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                        let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                        total = fused ? total.addingProduct(x, y) : total + x * y
                    }
                    c[i * ldc + j] = start == 0 && !accumulate ? total : c[i * ldc + j] + total
                }
            }
        }
    }
}
