import Kernels

/// The kernels behind ``Tensor/causalSelfAttention(heads:dropout:)``: the forward and backward pass of one
/// (batch row, head) task, as llm.c's `attention_forward`/`attention_backward` compute them, in SIMD16.
///
///     qkv (B, T, 3C): q, k, v of head h are columns h·hs..<(h+1)·hs of each third     hs = C / heads
///     out (B, T, C); weights (B, heads, T, Tp): each row the softmax over t2 ≤ t, zero after   Tp = T rounded up to 16
///
/// Each task copies its head's operands into scratch memory, zero-padded to whole vectors of 16 (head size to
/// `paddedHead`, time to `paddedTime`): the inner loops are then whole SIMD16 products for any head size, and the
/// padding contributes zeros. Every product is a ``fourRows`` block (four rows at once, so each vector load
/// serves four multiply-adds on four independent accumulators). A task writes only its own head's memory, in a
/// fixed order, so the result does not depend on how tasks are spread over threads.
///
/// Dropout (nanoGPT's `attn_dropout`) keeps each weight with probability `keep` and scales it by 1/keep; the mask
/// is drawn from a generator seeded per task, row by row, and drawn again the same way by the backward pass.
struct CausalAttention {
    typealias Vector = SIMD16<Float>

    let time: Int, channels: Int, heads: Int, headSize: Int
    let paddedHead: Int, paddedTime: Int
    /// 1/√hs.
    let scale: Float
    /// The probability of keeping a weight, 1 − p, and the factor 1/(1 − p) of the kept ones.
    let keep: Float, keptScale: Float

    init(time: Int, channels: Int, heads: Int, dropout: Double) {
        self.time = time
        self.channels = channels
        self.heads = heads
        headSize = channels / heads
        paddedHead = (headSize + 15) / 16 * 16
        paddedTime = (time + 15) / 16 * 16
        scale = 1 / Float(headSize).squareRoot()
        keep = Float(1 - dropout)
        keptScale = Float(1 / (1 - dropout))
    }

    /// The floats of one task's softmax weights.
    var weightsPerTask: Int { time * paddedTime }

    /// The scratch floats a forward task needs.
    func forwardScratch(dropout: Bool) -> Int {
        headSize * paddedTime + time * paddedHead + (dropout ? weightsPerTask + paddedTime : 0)
    }

    /// The scratch floats a backward task needs.
    func backwardScratch(dropout: Bool) -> Int {
        3 * time * paddedHead + headSize * paddedTime + weightsPerTask + (dropout ? weightsPerTask + paddedTime : 0)
    }

    // MARK: Forward

    /// Task `task` = b·heads + h: its softmax weights into `weights` and its head's columns of `out`.
    /// `seed` is the task's dropout seed, nil without dropout. `scratch` holds ``forwardScratch(dropout:)`` floats.
    func forward(
        task: Int, qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>,
        seed: UInt64?, scratch: UnsafeMutablePointer<Float>
    ) {
        let (b, h) = (task / heads, task % heads)
        let stride = 3 * channels
        let q = qkv + b * time * stride + h * headSize, k = q + channels, v = q + 2 * channels
        let w = weights + task * weightsPerTask
        // kᵀ (hs, Tp) so that a row's scores are vectors over t2; v (T, hsp).
        let keysT = scratch, values = keysT + headSize * paddedTime
        transpose(k, stride: stride, into: keysT)
        pad(v, stride: stride, into: values)

        // Scores q·kᵀ/√hs, four query rows at a time over the vectors of keys they can see, then each row's softmax.
        forEachBlock { t0, rows in
            for j in 0..<(t0 / 16 + 1) {
                let s = Self.fourRows(q + t0 * stride, rowStride: stride, depthStride: 1, rows: rows,
                                      keysT + 16 * j, bStride: paddedTime, depth: 0..<headSize)
                Self.store(s, rows: rows, scale: scale, to: w + t0 * paddedTime + 16 * j, rowStride: paddedTime)
            }
            for r in 0..<rows { softmax(row: w + (t0 + r) * paddedTime, t: t0 + r) }
        }

        // With dropout the output reads the dropped weights; the kept `weights` stay undropped for backward.
        var read = UnsafePointer(w)
        if let seed {
            let dropped = values + time * paddedHead, mask = dropped + weightsPerTask
            var random = RandomGenerator(seed: seed)
            for t in 0..<time {
                drawMask(row: mask, t: t, &random)
                let row = w + t * paddedTime, target = dropped + t * paddedTime
                for j in 0..<paddedTime / 16 {
                    (Vector.load(row + 16 * j) * Vector.load(mask + 16 * j)).store(to: target + 16 * j)
                }
            }
            read = UnsafePointer(dropped)
        }

        // out[t] = Σ_t2 att[t, t2]·v[t2]: four rows, one vector of head columns at a time.
        let y = out + b * time * channels + h * headSize
        forEachBlock { t0, rows in
            for c in Swift.stride(from: 0, to: headSize, by: 16) {
                let o = Self.fourRows(read + t0 * paddedTime, rowStride: paddedTime, depthStride: 1, rows: rows,
                                      values + c, bStride: paddedHead, depth: 0..<(t0 + rows))
                Self.store(o, rows: rows, lanes: Swift.min(16, headSize - c), to: y + t0 * channels + c,
                           rowStride: channels)
            }
        }
    }

    /// Row t's softmax in place over its first t + 1 scores (numerically stable: the row's maximum is subtracted
    /// before exponentiating), zero from t + 1 to the row's end.
    @inline(always)
    func softmax(row: UnsafeMutablePointer<Float>, t: Int) {
        let vectors = t / 16 + 1
        // The last vector's lanes past t are masked to −∞, so that their exponential is 0. (Lane numbers as Floats:
        // Swift compares integer vectors lane by lane, Float vectors in one instruction.)
        let lane = Vector(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let last = Vector.load(row + 16 * (vectors - 1))
            .replacing(with: -.infinity, where: lane .> Float(t - 16 * (vectors - 1)))
        last.store(to: row + 16 * (vectors - 1))
        var largest = last
        for j in 0..<(vectors - 1) { largest = VectorMath.larger(largest, Vector.load(row + 16 * j)) }
        let maximum = Vector(repeating: VectorMath.maximum(largest))
        var total = Vector()
        for j in 0..<vectors {
            let e = VectorMath.exp(Vector.load(row + 16 * j) - maximum)
            e.store(to: row + 16 * j)
            total += e
        }
        let inverse = 1 / VectorMath.sum(total)
        for j in 0..<vectors { (Vector.load(row + 16 * j) * inverse).store(to: row + 16 * j) }
        for j in vectors..<(paddedTime / 16) { Vector().store(to: row + 16 * j) }
    }

    /// Row t's dropout factors: 1/keep or 0 for t2 ≤ t (one draw each, in order), 0 after.
    @inline(always)
    func drawMask(row: UnsafeMutablePointer<Float>, t: Int, _ random: inout RandomGenerator) {
        for t2 in 0...t { row[t2] = random.uniform(0, 1) < keep ? keptScale : 0 }
        for t2 in (t + 1)..<paddedTime { row[t2] = 0 }
    }

    // MARK: Backward

    /// Task `task`'s head columns of dq, dk and dv in `dQKV` (B, T, 3C), from the head's columns of `dOut`
    /// (B, T, C), the inputs and the kept softmax weights. `scratch` holds ``backwardScratch(dropout:)`` floats.
    ///
    ///     dAtt′ = dy·vᵀ (att′ the dropped weights); dAtt = dAtt′ ⊙ mask; dv = att′ᵀ·dy
    ///     dScore = att ⊙ (dAtt − Σ_t2 att ⊙ dAtt) / √hs  (the softmax's backward, row by row)
    ///     dq = dScore·k;  dk = dScoreᵀ·q
    func backward(
        task: Int, qkv: UnsafePointer<Float>, weights: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        dQKV: UnsafeMutablePointer<Float>, seed: UInt64?, scratch: UnsafeMutablePointer<Float>
    ) {
        let (b, h) = (task / heads, task % heads)
        let stride = 3 * channels
        let offset = b * time * stride + h * headSize
        let q = qkv + offset, k = q + channels, v = q + 2 * channels
        let dq = dQKV + offset, dk = dq + channels, dv = dq + 2 * channels
        let dy = dOut + b * time * channels + h * headSize
        let w = weights + task * weightsPerTask
        let queries = scratch, keys = queries + time * paddedHead, gradients = keys + time * paddedHead
        let valuesT = gradients + time * paddedHead, dScores = valuesT + headSize * paddedTime
        pad(q, stride: stride, into: queries)
        pad(k, stride: stride, into: keys)
        pad(dy, stride: channels, into: gradients)
        transpose(v, stride: stride, into: valuesT)

        // dAtt′ = dy·vᵀ into dScores, four rows at a time over the vectors each row can see.
        forEachBlock { t0, rows in
            for j in 0..<(t0 / 16 + 1) {
                let s = Self.fourRows(dy + t0 * channels, rowStride: channels, depthStride: 1, rows: rows,
                                      valuesT + 16 * j, bStride: paddedTime, depth: 0..<headSize)
                Self.store(s, rows: rows, scale: 1, to: dScores + t0 * paddedTime + 16 * j, rowStride: paddedTime)
            }
        }

        // Through the mask (drawn again, in the forward's order) and the softmax, row by row.
        var dropped = w
        var random = RandomGenerator(seed: seed ?? 0)
        if seed != nil { dropped = UnsafePointer(dScores + weightsPerTask) }
        let mask = dScores + 2 * weightsPerTask
        for t in 0..<time {
            let row = w + t * paddedTime, grad = dScores + t * paddedTime
            let vectors = t / 16 + 1
            if seed != nil {
                drawMask(row: mask, t: t, &random)
                let target = UnsafeMutablePointer(mutating: dropped) + t * paddedTime
                for j in 0..<paddedTime / 16 {
                    let m = Vector.load(mask + 16 * j)
                    (Vector.load(row + 16 * j) * m).store(to: target + 16 * j)
                    (Vector.load(grad + 16 * j) * m).store(to: grad + 16 * j)
                }
            }
            var weighted = Vector()
            for j in 0..<vectors { weighted = weighted.addingProduct(Vector.load(row + 16 * j), Vector.load(grad + 16 * j)) }
            let total = Vector(repeating: VectorMath.sum(weighted))
            for j in 0..<vectors {
                let dScore = Vector.load(row + 16 * j) * (Vector.load(grad + 16 * j) - total) * scale
                dScore.store(to: grad + 16 * j)
            }
            for j in vectors..<(paddedTime / 16) { Vector().store(to: grad + 16 * j) }
        }

        // dq[t] = Σ_t2≤t dScore[t, t2]·k[t2]; dk[t2] = Σ_t≥t2 dScore[t, t2]·q[t]; dv[t2] = Σ_t≥t2 att′[t, t2]·dy[t].
        forEachBlock { t0, rows in
            for c in Swift.stride(from: 0, to: headSize, by: 16) {
                let lanes = Swift.min(16, headSize - c)
                let dQuery = Self.fourRows(dScores + t0 * paddedTime, rowStride: paddedTime, depthStride: 1, rows: rows,
                                           keys + c, bStride: paddedHead, depth: 0..<(t0 + rows))
                Self.store(dQuery, rows: rows, lanes: lanes, to: dq + t0 * stride + c, rowStride: stride)
                let dKey = Self.fourRows(dScores + t0, rowStride: 1, depthStride: paddedTime, rows: rows,
                                         queries + c, bStride: paddedHead, depth: t0..<time)
                Self.store(dKey, rows: rows, lanes: lanes, to: dk + t0 * stride + c, rowStride: stride)
                let dValue = Self.fourRows(dropped + t0, rowStride: 1, depthStride: paddedTime, rows: rows,
                                           gradients + c, bStride: paddedHead, depth: t0..<time)
                Self.store(dValue, rows: rows, lanes: lanes, to: dv + t0 * stride + c, rowStride: stride)
            }
        }
    }

    // MARK: Building blocks

    /// Calls `body(t0, rows)` for the blocks of four rows 0..<T (the last may have fewer).
    @inline(always)
    func forEachBlock(_ body: (Int, Int) -> Void) {
        for t0 in Swift.stride(from: 0, to: time, by: 4) { body(t0, Swift.min(4, time - t0)) }
    }

    /// Four rows of a product: Σ_k A[r, k]·B[k, 0..<16] for r in 0..<4 and k in `depth`, where
    /// A[r, k] = a[r·rowStride + k·depthStride] and B[k, ·] is the vector at b + k·bStride. Rows from `rows` on
    /// repeat the last real row (their results are not stored), so a short last block needs no other code.
    @inline(always)
    static func fourRows(
        _ a: UnsafePointer<Float>, rowStride: Int, depthStride: Int, rows: Int,
        _ b: UnsafePointer<Float>, bStride: Int, depth: Range<Int>
    ) -> (Vector, Vector, Vector, Vector) {
        let a0 = a, a1 = a + Swift.min(1, rows - 1) * rowStride
        let a2 = a + Swift.min(2, rows - 1) * rowStride, a3 = a + Swift.min(3, rows - 1) * rowStride
        var c0 = Vector(), c1 = Vector(), c2 = Vector(), c3 = Vector()
        for k in depth {
            let bk = Vector.load(b + k * bStride)
            let at = k * depthStride
            c0 = c0.addingProduct(a0[at], bk)
            c1 = c1.addingProduct(a1[at], bk)
            c2 = c2.addingProduct(a2[at], bk)
            c3 = c3.addingProduct(a3[at], bk)
        }
        return (c0, c1, c2, c3)
    }

    /// Stores the first `rows` of a block, times `scale`, as whole vectors at `target + r·rowStride`.
    @inline(always)
    static func store(
        _ block: (Vector, Vector, Vector, Vector), rows: Int, scale: Float, to target: UnsafeMutablePointer<Float>,
        rowStride: Int
    ) {
        (block.0 * scale).store(to: target)
        if rows > 1 { (block.1 * scale).store(to: target + rowStride) }
        if rows > 2 { (block.2 * scale).store(to: target + 2 * rowStride) }
        if rows > 3 { (block.3 * scale).store(to: target + 3 * rowStride) }
    }

    /// Stores the first `lanes` of the first `rows` of a block at `target + r·rowStride` (a head's columns).
    @inline(always)
    static func store(
        _ block: (Vector, Vector, Vector, Vector), rows: Int, lanes: Int, to target: UnsafeMutablePointer<Float>,
        rowStride: Int
    ) {
        if lanes == 16 {
            block.0.store(to: target)
            if rows > 1 { block.1.store(to: target + rowStride) }
            if rows > 2 { block.2.store(to: target + 2 * rowStride) }
            if rows > 3 { block.3.store(to: target + 3 * rowStride) }
        } else {
            block.0.store(to: target, count: lanes)
            if rows > 1 { block.1.store(to: target + rowStride, count: lanes) }
            if rows > 2 { block.2.store(to: target + 2 * rowStride, count: lanes) }
            if rows > 3 { block.3.store(to: target + 3 * rowStride, count: lanes) }
        }
    }

    /// Copies T rows of hs floats (row stride `stride`) into (T, hsp), zero-padded.
    @inline(always)
    func pad(_ source: UnsafePointer<Float>, stride: Int, into target: UnsafeMutablePointer<Float>) {
        for t in 0..<time {
            let row = target + t * paddedHead
            row.update(from: source + t * stride, count: headSize)
            (row + headSize).update(repeating: 0, count: paddedHead - headSize)
        }
    }

    /// Copies T rows of hs floats (row stride `stride`) transposed into (hs, Tp), zero-padded.
    @inline(always)
    func transpose(_ source: UnsafePointer<Float>, stride: Int, into target: UnsafeMutablePointer<Float>) {
        for i in 0..<headSize {
            let row = target + i * paddedTime
            for t in 0..<time { row[t] = source[t * stride + i] }
            (row + time).update(repeating: 0, count: paddedTime - time)
        }
    }
}
