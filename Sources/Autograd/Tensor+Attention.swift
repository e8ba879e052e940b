#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Kernels

extension Tensor {
    /// Causal multi-head self-attention, as nanoGPT's `CausalSelfAttention` computes it after `c_attn` and before
    /// `c_proj` (dropout 0), fused as llm.c's `attention_forward`/`attention_backward`:
    ///
    ///     qkv is (B, T, 3C): q, k, v are columns 0..<C, C..<2C, 2C..<3C; head h uses columns h·hs..<(h+1)·hs
    ///     of each (hs = C / heads)
    ///     score[t, t2] = q[t]·k[t2] / √hs for t2 ≤ t (position t sees 0…t)
    ///     att[t] = softmax(score[t]), with the row's maximum subtracted first (numerically stable)
    ///     out[t] = Σ_t2 att[t, t2] · v[t2]               out is (B, T, C), heads side by side
    ///
    /// The attention weights are kept for the backward pass: B·heads·T·T floats.
    /// - Throws: ``TensorError/shapeMismatch(operation:shapes:)`` unless this is (B, T, 3C) with C a multiple of
    ///   `heads`, and ``TensorError/invalidArgument(operation:name:value:)`` for `heads` below 1.
    public func causalSelfAttention(heads: Int) throws(TensorError) -> Tensor {
        guard heads >= 1 else { throw .invalidArgument(operation: "causalSelfAttention", name: "heads", value: Double(heads)) }
        guard rank == 3, shape[2] % 3 == 0, (shape[2] / 3) % heads == 0 else {
            throw .shapeMismatch(operation: "causalSelfAttention", shapes: [shape, [heads]])
        }
        let (batch, time, channels) = (shape[0], shape[1], shape[2] / 3)
        let headSize = channels / heads
        let scale = 1 / Float(headSize).squareRoot()
        let qkv = values
        var output = FloatBuffer(count: batch * time * channels)
        var weights = FloatBuffer(count: batch * heads * time * time)
        // One task per (batch row, head): each writes only its own head's columns of the output and its own rows
        // of the weights, so the tasks run in parallel and the result does not depend on the thread count.
        let pool = ThreadPool.current
        qkv.withUnsafePointer { input in
            output.withUnsafeMutablePointer { out in
                weights.withUnsafeMutablePointer { att in
                    pool.run(tasks: batch * heads) { task in
                        let (b, h) = (task / heads, task % heads)
                        for t in 0..<time {
                            let q = input + (b * time + t) * 3 * channels + h * headSize
                            let row = att + ((b * heads + h) * time + t) * time
                            var maximum = -Float.infinity
                            for t2 in 0...t {
                                let k = input + (b * time + t2) * 3 * channels + channels + h * headSize
                                var dot: Float = 0
                                for i in 0..<headSize { dot = dot.addingProduct(q[i], k[i]) }
                                row[t2] = dot * scale
                                maximum = Swift.max(maximum, row[t2])
                            }
                            var sum: Float = 0
                            for t2 in 0...t {
                                row[t2] = expf(row[t2] - maximum)
                                sum += row[t2]
                            }
                            let inverse = 1 / sum
                            let y = out + (b * time + t) * channels + h * headSize
                            for t2 in 0...t {
                                row[t2] *= inverse
                                let v = input + (b * time + t2) * 3 * channels + 2 * channels + h * headSize
                                for i in 0..<headSize { y[i] = y[i].addingProduct(row[t2], v[i]) }
                            }
                        }
                    }
                }
            }
        }
        let inputShape = shape
        let keptWeights = weights
        return Tensor.result(output, shape: [batch, time, channels], inputs: [self]) { g in
            var grad = FloatBuffer(count: Shape.count(inputShape))
            // In parallel over (batch row, head), as the forward: each task writes its own head's columns of q, k
            // and v's gradient.
            grad.withUnsafeMutablePointer { dInput in
                qkv.withUnsafePointer { input in
                    keptWeights.withUnsafePointer { att in
                        g.withUnsafePointer { dOut in
                            pool.run(tasks: batch * heads) { task in
                                let (b, h) = (task / heads, task % heads)
                                withUnsafeTemporaryAllocation(of: Float.self, capacity: time) { rowGrad in
                                    for t in 0..<time {
                                        let row = att + ((b * heads + h) * time + t) * time
                                        let dy = dOut + (b * time + t) * channels + h * headSize
                                        // d att[t, t2] = dy·v[t2], and dv[t2] += att[t, t2]·dy.
                                        var weighted: Float = 0
                                        for t2 in 0...t {
                                            let offset = (b * time + t2) * 3 * channels + 2 * channels + h * headSize
                                            var dot: Float = 0
                                            for i in 0..<headSize {
                                                dot = dot.addingProduct(dy[i], input[offset + i])
                                                dInput[offset + i] = dInput[offset + i].addingProduct(row[t2], dy[i])
                                            }
                                            rowGrad[t2] = dot
                                            weighted = weighted.addingProduct(row[t2], dot)
                                        }
                                        // Through the softmax, then the scaled dot products into q and k.
                                        let q = (b * time + t) * 3 * channels + h * headSize
                                        for t2 in 0...t {
                                            let dScore = row[t2] * (rowGrad[t2] - weighted) * scale
                                            let k = (b * time + t2) * 3 * channels + channels + h * headSize
                                            for i in 0..<headSize {
                                                dInput[q + i] = dInput[q + i].addingProduct(dScore, input[k + i])
                                                dInput[k + i] = dInput[k + i].addingProduct(dScore, input[q + i])
                                            }
                                        }
                                    }
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
