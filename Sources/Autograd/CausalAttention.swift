import Kernels

/// The kernels behind ``Tensor/causalSelfAttention(heads:dropout:)``: the forward and backward pass of one
/// (batch row, head) task, as llm.c's `attention_forward`/`attention_backward` compute them; the products and
/// softmaxes are Kernels' ``AttentionKernel`` (C, per instruction set), on the path current when the forward ran.
///
///     qkv (B, T, 3C): q, k, v of head h are columns h·hs..<(h+1)·hs of each third     hs = C / heads
///     out (B, T, C); weights (B, heads, T, Tp): each row the softmax over t2 ≤ t, zero after   Tp = T rounded up to 16
///
/// Each task copies its head's operands into scratch memory, zero-padded to whole vectors of 16 (head size to
/// `paddedHead`, time to `paddedTime`): the inner loops are then whole 16-lane products for any head size, and the
/// padding contributes zeros. A task writes only its own head's memory, in a fixed order, so the result does not
/// depend on how tasks are spread over threads.
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
    /// The kernels' instruction set, read on the thread that builds the attention (the pool's threads run tasks).
    let path = CPUPath.current

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

        // Scores q·kᵀ/√hs over the keys each query row can see, then each row's softmax.
        AttentionKernel.scores(q, aStride: stride, keysTransposed: keysT, time: time, paddedTime: paddedTime,
                               depth: headSize, scale: scale, into: w, softmax: true, path: path)

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

        // out[t] = Σ_t2 att[t, t2]·v[t2].
        AttentionKernel.weightedSum(read, paddedTime: paddedTime, values: values, paddedHead: paddedHead, time: time,
                                    headSize: headSize, into: out + b * time * channels + h * headSize,
                                    outStride: channels, path: path)
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

        // dAtt′ = dy·vᵀ into dScores, over the values each row can see.
        AttentionKernel.scores(dy, aStride: channels, keysTransposed: valuesT, time: time, paddedTime: paddedTime,
                               depth: headSize, scale: 1, into: dScores, softmax: false, path: path)

        // Through the mask (drawn again, in the forward's order), then the softmax.
        var dropped = w
        if let seed {
            let mask = dScores + 2 * weightsPerTask, target = dScores + weightsPerTask
            var random = RandomGenerator(seed: seed)
            for t in 0..<time {
                drawMask(row: mask, t: t, &random)
                let row = w + t * paddedTime, grad = dScores + t * paddedTime, out = target + t * paddedTime
                for j in 0..<paddedTime / 16 {
                    let m = Vector.load(mask + 16 * j)
                    (Vector.load(row + 16 * j) * m).store(to: out + 16 * j)
                    (Vector.load(grad + 16 * j) * m).store(to: grad + 16 * j)
                }
            }
            dropped = UnsafePointer(target)
        }
        AttentionKernel.softmaxBackward(weights: w, grad: dScores, time: time, paddedTime: paddedTime, scale: scale,
                                        path: path)

        // dq[t] = Σ_t2≤t dScore[t, t2]·k[t2]; dk[t2] = Σ_t≥t2 dScore[t, t2]·q[t]; dv[t2] = Σ_t≥t2 att′[t, t2]·dy[t].
        AttentionKernel.inputGradients(
            dScores: dScores, dropped: dropped, paddedTime: paddedTime, keys: keys, queries: queries,
            gradients: gradients, paddedHead: paddedHead, time: time, headSize: headSize, dq: dq, dk: dk, dv: dv,
            stride: stride, path: path)
    }

    // MARK: Building blocks

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
