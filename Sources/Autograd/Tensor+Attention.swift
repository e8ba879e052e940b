import Kernels

extension Tensor {
    /// Causal multi-head self-attention, as nanoGPT's `CausalSelfAttention` computes it after `c_attn` and before
    /// `c_proj`, fused as llm.c's `attention_forward`/`attention_backward`:
    ///
    ///     qkv is (B, T, 3C): q, k, v are columns 0..<C, C..<2C, 2C..<3C; head h uses columns h·hs..<(h+1)·hs
    ///     of each (hs = C / heads)
    ///     score[t, t2] = q[t]·k[t2] / √hs for t2 ≤ t (position t sees 0…t)
    ///     att[t] = softmax(score[t]), with the row's maximum subtracted first (numerically stable)
    ///     att′ = dropout(att): each weight zeroed with probability `dropout`, the others scaled by 1/(1 − dropout)
    ///     out[t] = Σ_t2 att′[t, t2] · v[t2]              out is (B, T, C), heads side by side
    ///
    /// The work is one task per (batch row, head) on ``Kernels/ThreadPool/current`` (see `CausalAttention`); the
    /// result is the same bits on any number of threads. The attention weights are kept for the backward pass
    /// (B·heads·T·T floats, rows padded to 16). With dropout, one seed per task is drawn from ``GlobalRandom``
    /// in task order before the tasks run, so the masks depend only on the generator's state; with `dropout` 0
    /// nothing is drawn.
    /// - Throws: ``TensorError/shapeMismatch(operation:shapes:)`` unless this is (B, T, 3C) with C a multiple of
    ///   `heads`, and ``TensorError/invalidArgument(operation:name:value:)`` for `heads` below 1 or `dropout`
    ///   outside [0, 1).
    public func causalSelfAttention(heads: Int, dropout: Double = 0) throws(TensorError) -> Tensor {
        guard heads >= 1 else { throw .invalidArgument(operation: "causalSelfAttention", name: "heads", value: Double(heads)) }
        guard dropout >= 0, dropout < 1 else {
            throw .invalidArgument(operation: "causalSelfAttention", name: "dropout", value: dropout)
        }
        guard rank == 3, shape[2] % 3 == 0, (shape[2] / 3) % heads == 0 else {
            throw .shapeMismatch(operation: "causalSelfAttention", shapes: [shape, [heads]])
        }
        let (batch, time, channels) = (shape[0], shape[1], shape[2] / 3)
        let attention = CausalAttention(time: time, channels: channels, heads: heads, dropout: dropout)
        let tasks = batch * heads
        let seeds: [UInt64]? = dropout > 0 ? GlobalRandom.with { random in (0..<tasks).map { _ in random.next() } } : nil
        let qkv = values
        var output = FloatBuffer(unsafeUninitializedCount: batch * time * channels) { _ in }
        var weights = FloatBuffer(unsafeUninitializedCount: tasks * attention.weightsPerTask) { _ in }
        let pool = ThreadPool.current
        let forwardScratch = attention.forwardScratch(dropout: seeds != nil)
        qkv.withUnsafePointer { input in
            output.withUnsafeMutablePointer { out in
                weights.withUnsafeMutablePointer { att in
                    pool.run(tasks: tasks) { task in
                        pool.withScratch(floats: forwardScratch) { scratch in
                            attention.forward(task: task, qkv: input, out: out, weights: att, seed: seeds?[task],
                                              scratch: scratch)
                        }
                    }
                }
            }
        }
        let inputCount = count
        let keptWeights = weights
        return Tensor.result(output, shape: [batch, time, channels], inputs: [self]) { g in
            // Each task writes every element of its head's columns of dq, dk and dv: no zero-fill needed.
            var grad = FloatBuffer(unsafeUninitializedCount: inputCount) { _ in }
            let backwardScratch = attention.backwardScratch(dropout: seeds != nil)
            grad.withUnsafeMutablePointer { dInput in
                qkv.withUnsafePointer { input in
                    keptWeights.withUnsafePointer { att in
                        g.withUnsafePointer { dOut in
                            pool.run(tasks: tasks) { task in
                                pool.withScratch(floats: backwardScratch) { scratch in
                                    attention.backward(task: task, qkv: input, weights: att, dOut: dOut,
                                                       dQKV: dInput, seed: seeds?[task], scratch: scratch)
                                }
                            }
                        }
                    }
                }
            }
            return [grad]
        }
    }
}
