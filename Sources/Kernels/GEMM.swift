/// Single-precision matrix multiplication, C = op(A)·op(B) (+ C), for row-major matrices.
///
/// The structure is BLIS's: B is packed into panels of `kc` rows in strips of ``nr`` columns, A into blocks of
/// `mc` rows in strips of ``mr`` rows, and a register-blocked micro-kernel computes one `mr`×`nr` tile of C from a
/// strip of each, keeping the whole tile in registers. Blocks of A's rows are spread over the threads of
/// ``ThreadPool/current``; each element of C is computed by one thread, always in the same order over k, so the
/// result is bitwise the same for every thread count.
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
        guard k > 0 else {
            if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        if !transposeA && transposeB && n <= DotKernel.narrowLimit {
            // A few outputs per row (a classifier's last layer): dot products along k beat packing A.
            DotKernel.multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                               accumulate: accumulate)
            return
        }
        let a = Operand(base: a, rowStride: transposeA ? 1 : lda, columnStride: transposeA ? lda : 1)
        let b = Operand(base: b, rowStride: transposeB ? 1 : ldb, columnStride: transposeB ? ldb : 1)
        if m <= 2 * mr && !transposeB && n >= nr && k <= kc {
            // A few rows of C (the weight gradient of a 10-class head, dYᵀ·X): each element of B is used by at
            // most two row strips, so packing B would cost as much as the product. Read both in place.
            multiplyUnpacked(m: m, n: n, k: k, a: a, b: b.base, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        if n < nr && m > n {
            // A skinny C (a linear layer with 10 outputs) would fill a third of each 6×32 tile: compute
            // Cᵀ = op(B)ᵀ·op(A)ᵀ instead, whose tiles are full, and write it through C's transposed strides.
            let target = Target(base: c, rowStride: 1, columnStride: ldc)
            multiply(m: n, n: m, k: k, a: b.transposed, b: a.transposed, c: target, accumulate: accumulate)
        } else {
            let target = Target(base: c, rowStride: ldc, columnStride: 1)
            multiply(m: m, n: n, k: k, a: a, b: b, c: target, accumulate: accumulate)
        }
    }

    static func multiply(m: Int, n: Int, k: Int, a: Operand, b: Operand, c: Target, accumulate: Bool) {
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
                          wakesWorkers: threads > 1 && rowBlocks > 1)
                    let overwrite = !accumulate && pc == 0
                    let panel = UncheckedPointer(packedB)
                    let run = { (block: Int) in
                        let ic = block * rowsPerBlock
                        let mcCurrent = min(rowsPerBlock, m - ic)
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: mcMax * kc + 16) { scratch in
                            guard let start = scratch.baseAddress else { return }
                            let packedA = alignedStart(start)
                            let strips: StripsOfA
                            if a.columnStride == 1 && ncCurrent <= 8 * nr {
                                // A narrow panel (n ≤ 256) and contiguous rows of A: the micro-kernel reads whole
                                // strips of six rows where they are, as packing them, used by at most 8 tiles,
                                // cost up to a quarter of the tiles' time (n = 128: 235 → 252 GFLOP/s on one
                                // thread). Wider panels amortize the packing, and six strided streams lost 6% on
                                // 2048² there. A last, partial strip is packed, so that no row past A's end is read.
                                let whole = mcCurrent / mr
                                if whole * mr < mcCurrent {
                                    packA(a, rows: ic + whole * mr, mcCurrent - whole * mr, columns: pc, kcCurrent,
                                          into: packedA)
                                }
                                strips = StripsOfA(base: a.base + ic * a.rowStride + pc, rowStride: a.rowStride,
                                                   step: 1, stripStride: mr * a.rowStride, inPlace: whole,
                                                   packed: packedA)
                            } else {
                                packA(a, rows: ic, mcCurrent, columns: pc, kcCurrent, into: packedA)
                                strips = StripsOfA(base: packedA, rowStride: 1, step: mr, stripStride: kcCurrent * mr,
                                                   inPlace: 0, packed: packedA)
                            }
                            macroKernel(
                                mc: mcCurrent, nc: ncCurrent, kc: kcCurrent, a: strips,
                                packedB: panel.value, c: c.offset(row: ic, column: jc), overwrite: overwrite)
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
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let wholeColumns = n / nr * nr
        withUnsafeTemporaryAllocation(of: Float.self, capacity: mr * nr + mr * kc) { scratch in
            guard let tile = scratch.baseAddress else { return }
            let packedRows = tile + mr * nr
            var ir = 0
            while ir < m {
                let height = min(mr, m - ir)
                // A partial strip of rows is packed (zero-padded), so that no row past A's end is read.
                if height < mr { packA(a, rows: ir, height, columns: 0, k, into: packedRows) }
                var jr = 0
                while jr < wholeColumns {
                    let target = c + ir * ldc + jr
                    if height == mr {
                        microKernel(kc: k, a: a.base + ir * a.rowStride, aRow: a.rowStride, aStep: a.columnStride,
                                    b: b + jr, bStep: ldb, c: target, ldc: ldc, overwrite: !accumulate)
                    } else {
                        microKernel(kc: k, a: packedRows, b: b + jr, bStep: ldb, c: tile, ldc: nr, overwrite: true)
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
                     c: Target(base: c + wholeColumns, rowStride: ldc, columnStride: 1), accumulate: accumulate)
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
        into packed: UnsafeMutablePointer<Float>, pool: ThreadPool, wakesWorkers: Bool = false
    ) {
        let strips = (nc + nr - 1) / nr
        let destination = UncheckedPointer(packed)
        let packStrip = { (strip: Int) in
            let out = destination.value + strip * kc * nr
            let firstColumn = column0 + strip * nr
            let width = min(nr, column0 + nc - firstColumn)
            if b.columnStride == 1 && width == nr {
                for p in 0..<kc {
                    // Two SIMD16 copies: a memcpy call per 128-byte row costs more than the copy.
                    let source = UnsafeRawPointer(b.base + (row0 + p) * b.rowStride + firstColumn)
                    let target = UnsafeMutableRawPointer(out + p * nr)
                    target.storeBytes(of: source.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    target.storeBytes(of: source.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                                      toByteOffset: 64, as: SIMD16<Float>.self)
                }
            } else if b.rowStride == 1 && width == nr {
                // A transposed B (the weight of x·Wᵀ): each column is contiguous. Transpose 8×8 blocks in
                // registers, then the leftover rows one by one.
                let source = b.base + row0 + firstColumn * b.columnStride
                let blockedRows = kc / 8 * 8
                for j in stride(from: 0, to: nr, by: 8) {
                    var p = 0
                    while p < blockedRows {
                        Transpose8x8.copy(from: source + j * b.columnStride + p, stride: b.columnStride,
                                          to: out + p * nr + j, stride: nr)
                        p += 8
                    }
                }
                for p in blockedRows..<kc {
                    for j in 0..<nr { out[p * nr + j] = source[p + j * b.columnStride] }
                }
            } else {
                for p in 0..<kc {
                    let row = out + p * nr
                    let source = b.base + (row0 + p) * b.rowStride + firstColumn * b.columnStride
                    for j in 0..<width { row[j] = source[j * b.columnStride] }
                    for j in width..<nr { row[j] = 0 }
                }
            }
        }
        if strips >= 2 && (wakesWorkers || (strips >= 4 && kc * nc >= 1 << 16)) {
            pool.run(tasks: strips, packStrip)
        } else {
            for strip in 0..<strips { packStrip(strip) }
        }
    }

    /// Packs A[rows, columns] into strips of mr rows: strip s holds, for each of kc columns, mr floats,
    /// zero-padded past the last row.
    static func packA(
        _ a: Operand, rows row0: Int, _ mc: Int, columns column0: Int, _ kc: Int,
        into packed: UnsafeMutablePointer<Float>
    ) {
        let strips = (mc + mr - 1) / mr
        for strip in 0..<strips {
            let out = packed + strip * kc * mr
            let firstRow = row0 + strip * mr
            let height = min(mr, row0 + mc - firstRow)
            if height == mr && a.columnStride == 1 {
                // Six rows read in step: each row is contiguous, the packed strip interleaves them.
                let r0 = a.base + firstRow * a.rowStride + column0
                let r1 = r0 + a.rowStride, r2 = r1 + a.rowStride, r3 = r2 + a.rowStride
                let r4 = r3 + a.rowStride, r5 = r4 + a.rowStride
                for p in 0..<kc {
                    let o = out + p * mr
                    o[0] = r0[p]; o[1] = r1[p]; o[2] = r2[p]; o[3] = r3[p]; o[4] = r4[p]; o[5] = r5[p]
                }
            } else if height == mr && a.rowStride == 1 {
                // Transposed A: the mr rows of a column are contiguous. (Six assignments: `update(from:count:)`
                // became a memmove call per column.)
                for p in 0..<kc {
                    let source = a.base + firstRow + (column0 + p) * a.columnStride
                    let o = out + p * mr
                    o[0] = source[0]; o[1] = source[1]; o[2] = source[2]
                    o[3] = source[3]; o[4] = source[4]; o[5] = source[5]
                }
            } else {
                for p in 0..<kc {
                    let o = out + p * mr
                    let source = a.base + firstRow * a.rowStride + (column0 + p) * a.columnStride
                    for i in 0..<height { o[i] = source[i * a.rowStride] }
                    for i in height..<mr { o[i] = 0 }
                }
            }
        }
    }

    /// Where the micro-kernel finds a block's strips of mr rows of A: the first `inPlace` strips in A itself,
    /// strip s at base + s·stripStride with element (i, p) at i·rowStride + p·step; the others packed (strip s
    /// at packed + (s − inPlace)·kc·mr, element (i, p) at i + p·mr).
    struct StripsOfA {
        let base: UnsafePointer<Float>
        let rowStride: Int, step: Int, stripStride: Int
        let inPlace: Int
        let packed: UnsafeMutablePointer<Float>

        init(base: UnsafePointer<Float>, rowStride: Int, step: Int, stripStride: Int, inPlace: Int,
             packed: UnsafeMutablePointer<Float>) {
            (self.base, self.rowStride, self.step, self.stripStride) = (base, rowStride, step, stripStride)
            (self.inPlace, self.packed) = (inPlace, packed)
        }

        init(base: UnsafeMutablePointer<Float>, rowStride: Int, step: Int, stripStride: Int, inPlace: Int,
             packed: UnsafeMutablePointer<Float>) {
            self.init(base: UnsafePointer(base), rowStride: rowStride, step: step, stripStride: stripStride,
                      inPlace: inPlace, packed: packed)
        }

        @inline(__always)
        func strip(_ s: Int, kc: Int) -> (pointer: UnsafePointer<Float>, rowStride: Int, step: Int) {
            s < inPlace ? (base + s * stripStride, rowStride, step) : (UnsafePointer(packed + (s - inPlace) * kc * mr), 1, mr)
        }
    }

    /// Every mr×nr tile of one block of A times one packed panel of B.
    static func macroKernel(
        mc: Int, nc: Int, kc: Int, a: StripsOfA, packedB: UnsafeMutablePointer<Float>,
        c: Target, overwrite: Bool
    ) {
        var edge = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                    SIMD16<Float>(), SIMD16<Float>())
        var jr = 0
        while jr < nc {
            let width = min(nr, nc - jr)
            let bStrip = packedB + (jr / nr) * kc * nr
            var ir = 0
            while ir < mc {
                let height = min(mr, mc - ir)
                let aStrip = a.strip(ir / mr, kc: kc)
                let tileTarget = c.offset(row: ir, column: jr)
                if width == nr && height == mr && c.columnStride == 1 {
                    microKernel(kc: kc, a: aStrip.pointer, aRow: aStrip.rowStride, aStep: aStrip.step, b: bStrip,
                                c: tileTarget.base, ldc: c.rowStride, overwrite: overwrite)
                } else {
                    // A partial or transposed tile: compute the whole tile into scratch, then write what exists.
                    withUnsafeMutableBytes(of: &edge) { raw in
                        let tile = raw.bindMemory(to: Float.self)
                        guard let tile = tile.baseAddress else { return }
                        microKernel(kc: kc, a: aStrip.pointer, aRow: aStrip.rowStride, aStep: aStrip.step,
                                    b: bStrip, c: tile, ldc: nr, overwrite: true)
                        for i in 0..<height {
                            let row = tileTarget.base + i * c.rowStride
                            for j in 0..<width {
                                let value = tile[i * nr + j]
                                row[j * c.columnStride] = overwrite ? value : row[j * c.columnStride] + value
                            }
                        }
                    }
                }
                ir += mr
            }
            jr += nr
        }
    }

    /// C[6×32] (+)= A[6×kc]·B[kc×32]: twelve SIMD16 accumulators stay in registers for the whole k loop, and
    /// each step is two vector loads of B, six broadcasts of A and twelve FMAs.
    ///
    /// A's element (i, p) is at `a[i·aRow + p·aStep]` and B's row p at `b + p·bStep`: packed strips use
    /// (1, 6, 32), constants that fold away once this is inlined; the unpacked path reads the operands in place.
    @inline(__always)
    static func microKernel(
        kc: Int, a: UnsafePointer<Float>, aRow: Int = 1, aStep: Int = mr, b: UnsafePointer<Float>, bStep: Int = nr,
        c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool
    ) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        var pa = a, pb = b
        let (r1, r2, r3, r4, r5) = (aRow, 2 * aRow, 3 * aRow, 4 * aRow, 5 * aRow)
        for _ in 0..<kc {
            let b0 = UnsafeRawPointer(pb).loadUnaligned(as: V.self)
            let b1 = UnsafeRawPointer(pb + 16).loadUnaligned(as: V.self)
            var x = V(repeating: pa[0])
            c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V(repeating: pa[r1])
            c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = V(repeating: pa[r2])
            c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = V(repeating: pa[r3])
            c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = V(repeating: pa[r4])
            c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = V(repeating: pa[r5])
            c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            pa += aStep
            pb += bStep
        }
        @inline(__always) func store(_ row: Int, _ v0: V, _ v1: V) {
            let p = c + row * ldc
            if overwrite {
                UnsafeMutableRawPointer(p).storeBytes(of: v0, as: V.self)
                UnsafeMutableRawPointer(p + 16).storeBytes(of: v1, as: V.self)
            } else {
                let old0 = UnsafeRawPointer(p).loadUnaligned(as: V.self)
                let old1 = UnsafeRawPointer(p + 16).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(p).storeBytes(of: old0 + v0, as: V.self)
                UnsafeMutableRawPointer(p + 16).storeBytes(of: old1 + v1, as: V.self)
            }
        }
        store(0, c00, c01); store(1, c10, c11); store(2, c20, c21)
        store(3, c30, c31); store(4, c40, c41); store(5, c50, c51)
    }
}
