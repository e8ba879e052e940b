import CKernels

/// The inner loops of causal self-attention for one (batch row, head) task, in C (`adamw_attention_*`); Autograd's
/// `CausalAttention` lays out each task's zero-padded scratch, draws the dropout masks, and calls these in order.
///
/// Every product is four rows of whole 16-lane multiply-adds over operands padded to multiples of 16 (head size to
/// `paddedHead`, time to `paddedTime`); rows of a softmax are masked past t and computed with the kernels' own exp.
/// Each element is one chain of multiply-adds in a fixed order, so the result does not depend on the thread count.
public enum AttentionKernel {
    /// scores[t, ·] = scale · A[t, ·]·Bᵀ over the 16-wide blocks of keys t can see, A's rows `aStride` apart with
    /// `depth` columns, Bᵀ (depth, paddedTime); then, with `softmax`, each row's causal softmax (zero past t).
    public static func scores(
        _ a: UnsafePointer<Float>, aStride: Int, keysTransposed: UnsafePointer<Float>, time: Int, paddedTime: Int,
        depth: Int, scale: Float, into scores: UnsafeMutablePointer<Float>, softmax: Bool, path: CPUPath
    ) {
        adamw_attention_scores(path.code, a, aStride, keysTransposed, time, paddedTime, depth, scale, scores,
                               softmax ? 1 : 0)
    }

    /// out[t, c] = Σ_t2≤t weights[t, t2]·values[t2, c], c < headSize (out's rows `outStride` apart).
    public static func weightedSum(
        _ weights: UnsafePointer<Float>, paddedTime: Int, values: UnsafePointer<Float>, paddedHead: Int, time: Int,
        headSize: Int, into out: UnsafeMutablePointer<Float>, outStride: Int, path: CPUPath
    ) {
        adamw_attention_weighted_sum(path.code, weights, paddedTime, values, paddedHead, time, headSize, out, outStride)
    }

    /// grad ← weights ⊙ (grad − Σ_t2 weights ⊙ grad) · scale, row by row: the softmax's backward, zero past t.
    public static func softmaxBackward(
        weights: UnsafePointer<Float>, grad: UnsafeMutablePointer<Float>, time: Int, paddedTime: Int, scale: Float,
        path: CPUPath
    ) {
        adamw_attention_softmax_backward(path.code, weights, grad, time, paddedTime, scale)
    }

    /// dq = dScore·k, dk = dScoreᵀ·q, dv = droppedᵀ·dy for the head's columns (dq, dk, dv rows `stride` apart).
    public static func inputGradients(
        dScores: UnsafePointer<Float>, dropped: UnsafePointer<Float>, paddedTime: Int, keys: UnsafePointer<Float>,
        queries: UnsafePointer<Float>, gradients: UnsafePointer<Float>, paddedHead: Int, time: Int, headSize: Int,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
        stride: Int, path: CPUPath
    ) {
        adamw_attention_input_gradients(path.code, dScores, dropped, paddedTime, keys, queries, gradients, paddedHead,
                                        time, headSize, dq, dk, dv, stride)
    }
}
