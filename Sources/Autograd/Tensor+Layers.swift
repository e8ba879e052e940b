import Kernels
// Fused operations behind the layers whose arithmetic is more than one element-wise step: dropout, layer
// normalization and embedding lookup. Each keeps what its backward needs and nothing more.

extension Tensor {
    /// Zeroes each element with probability `p` and scales the others by 1/(1 − p) (inverted dropout), drawing the
    /// mask from the global generator; the identity when `p` is 0.
    public func dropout(p: Double) throws(TensorError) -> Tensor {
        guard p >= 0, p <= 1 else { throw .invalidArgument(operation: "dropout", name: "probability", value: p) }
        if p == 0 { return self }
        let keep = Float(1 - p)
        let scale: Float = p == 1 ? 0 : 1 / keep
        let mask = GlobalRandom.with { random in
            FloatBuffer(unsafeUninitializedCount: count) { mask in
                for i in 0..<mask.count { mask[i] = random.uniform(0, 1) < keep ? scale : 0 }
            }
        }
        let x = values
        let output = FloatBuffer(unsafeUninitializedCount: count) { y in
            x.withUnsafeBufferPointer { x in
                mask.withUnsafeBufferPointer { m in for i in 0..<y.count { y[i] = x[i] * m[i] } }
            }
        }
        return Tensor.result(output, shape: shape, inputs: [self]) { g in
            [FloatBuffer(unsafeUninitializedCount: g.count) { dx in
                g.withUnsafeBufferPointer { g in
                    mask.withUnsafeBufferPointer { m in for i in 0..<dx.count { dx[i] = g[i] * m[i] } }
                }
            }]
        }
    }

    /// Layer normalization over the last `normalizedCount` elements of each row: (x − mean) / √(var + eps), then
    /// ·weight + bias when given (both of `normalizedCount` elements). The variance is the biased one, as PyTorch.
    public func layerNorm(normalizedCount: Int, weight: Tensor?, bias: Tensor?, eps: Double) throws(TensorError)
        -> Tensor
    {
        guard normalizedCount > 0, count % normalizedCount == 0,
              weight.map({ $0.count == normalizedCount }) ?? true, bias.map({ $0.count == normalizedCount }) ?? true
        else {
            throw .shapeMismatch(operation: "layerNorm",
                                 shapes: [shape, [normalizedCount]] + [weight, bias].compactMap { $0?.shape })
        }
        let rows = count / normalizedCount, n = normalizedCount
        let x = values, gamma = weight?.values, beta = bias?.values
        // Each row's mean and 1/σ, kept for backward (which recomputes x̂ from them, as llm.c does).
        var mean = FloatBuffer(unsafeUninitializedCount: rows) { _ in }
        var inverseDeviation = FloatBuffer(unsafeUninitializedCount: rows) { _ in }
        var output = FloatBuffer(unsafeUninitializedCount: count) { _ in }
        output.withUnsafeMutablePointer { y in
            mean.withUnsafeMutablePointer { mean in
                inverseDeviation.withUnsafeMutablePointer { rstd in
                    x.withUnsafePointer { x in
                        Tensor.withOptionalPointers(gamma, beta) { gamma, beta in
                            LayerNormKernel.forward(x, weight: gamma, bias: beta, y, mean: mean, rstd: rstd,
                                                    rows: rows, n: n, eps: eps)
                        }
                    }
                }
            }
        }
        let inputs = [self] + [weight, bias].compactMap { $0 }
        let needsInput = requiresGrad, needsWeight = weight?.requiresGrad ?? false, needsBias = bias?.requiresGrad ?? false
        return Tensor.result(output, shape: shape, inputs: inputs) { g in
            var gradX: FloatBuffer?, gradWeight: FloatBuffer?, gradBias: FloatBuffer?
            if needsWeight { gradWeight = FloatBuffer(unsafeUninitializedCount: n) { _ in } }
            if needsBias { gradBias = FloatBuffer(unsafeUninitializedCount: n) { _ in } }
            if needsInput { gradX = FloatBuffer(unsafeUninitializedCount: rows * n) { _ in } }
            g.withUnsafePointer { g in
                x.withUnsafePointer { x in
                    mean.withUnsafePointer { mean in
                        inverseDeviation.withUnsafePointer { rstd in
                            Tensor.withOptionalPointers(gamma, nil) { gamma, _ in
                                Tensor.withOptionalMutablePointers(&gradX, &gradWeight, &gradBias) { dx, dWeight, dBias in
                                    LayerNormKernel.backward(g, x, weight: gamma, mean: mean, rstd: rstd, dx: dx,
                                                             dWeight: dWeight, dBias: dBias, rows: rows, n: n)
                                }
                            }
                        }
                    }
                }
            }
            return [gradX] + (weight != nil ? [gradWeight] : []) + (bias != nil ? [gradBias] : [])
        }
    }

    /// Calls `body` with the memory of two optional buffers (nil for a nil buffer).
    static func withOptionalPointers<R>(
        _ a: FloatBuffer?, _ b: FloatBuffer?, _ body: (UnsafePointer<Float>?, UnsafePointer<Float>?) -> R
    ) -> R {
        func withPointer<T>(_ buffer: FloatBuffer?, _ body: (UnsafePointer<Float>?) -> T) -> T {
            guard let buffer else { return body(nil) }
            return buffer.withUnsafePointer { body($0) }
        }
        return withPointer(a) { a in withPointer(b) { b in body(a, b) } }
    }

    /// Calls `body` with the writable memory of three optional buffers (nil for a nil buffer).
    static func withOptionalMutablePointers<R>(
        _ a: inout FloatBuffer?, _ b: inout FloatBuffer?, _ c: inout FloatBuffer?,
        _ body: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> R
    ) -> R {
        func withPointer<T>(_ buffer: inout FloatBuffer?, _ body: (UnsafeMutablePointer<Float>?) -> T) -> T {
            guard var unwrapped = buffer else { return body(nil) }
            buffer = nil  // so that the buffer is uniquely referenced and written in place
            defer { buffer = unwrapped }
            return unwrapped.withUnsafeMutablePointer { body($0) }
        }
        return withPointer(&a) { a in withPointer(&b) { b in withPointer(&c) { c in body(a, b, c) } } }
    }

    /// Rows of this [count, dimension] table picked by `indices`: the result has shape `indexShape + [dimension]`.
    /// Backward adds each row's gradient into the rows it was read from.
    public func embedding(indices: [Int], indexShape: [Int]) throws(TensorError) -> Tensor {
        guard rank == 2, Shape.count(indexShape) == indices.count else {
            throw .shapeMismatch(operation: "embedding", shapes: [shape, indexShape])
        }
        let (rows, dimension) = (shape[0], shape[1])
        if let bad = indices.first(where: { !(0..<rows).contains($0) }) {
            throw .indexOutOfRange(operation: "embedding", index: bad, size: rows)
        }
        let table = values
        var output = FloatBuffer(unsafeUninitializedCount: indices.count * dimension) { _ in }
        output.withUnsafeMutablePointer { y in
            table.withUnsafePointer { t in
                for (i, index) in indices.enumerated() {
                    (y + i * dimension).update(from: t + index * dimension, count: dimension)
                }
            }
        }
        let tableCount = count
        return Tensor.result(output, shape: indexShape + [dimension], inputs: [self]) { [self] g in
            // A parameter's gradient is written in place, without a table-sized buffer: its first one as the
            // scatter below into zeros; a later one (a tied table's second use) as each row read summed on its
            // own from zero, then every row of the gradient added to (untouched rows with 0): the same sums in
            // the same order as adding the whole scattered table.
            if takesGradientAsItComes, let parameter, dimension > 0 {
                if parameter.writeFirstGradient({ dt in
                    dt.initialize(repeating: 0, count: tableCount)
                    g.withUnsafePointer { g in
                        for (i, index) in indices.enumerated() {
                            for j in 0..<dimension { dt[index * dimension + j] += g[i * dimension + j] }
                        }
                    }
                }) { return [nil] }
                var slot: [Int: Int] = [:]
                for index in indices where slot[index] == nil { slot[index] = slot.count }
                var sums = [Float](repeating: 0, count: slot.count * dimension)
                g.withUnsafePointer { g in
                    for (i, index) in indices.enumerated() {
                        let row = slot[index]! * dimension
                        for j in 0..<dimension { sums[row + j] += g[i * dimension + j] }
                    }
                }
                let zeros = [Float](repeating: 0, count: dimension)
                if parameter.addToGradient({ dt in
                    var finite = true
                    for row in 0..<rows {
                        let source = slot[row].map { $0 * dimension }
                        let added = source.map { start in
                            sums.withUnsafeBufferPointer { Reductions.addCheckingFinite($0.baseAddress! + start, to: dt + row * dimension, count: dimension) }
                        } ?? zeros.withUnsafeBufferPointer { Reductions.addCheckingFinite($0.baseAddress!, to: dt + row * dimension, count: dimension) }
                        finite = finite && added
                    }
                    return finite
                }) { return [nil] }
            }
            var grad = FloatBuffer(count: tableCount)
            grad.withUnsafeMutableBufferPointer { dt in
                g.withUnsafeBufferPointer { g in
                    for (i, index) in indices.enumerated() {
                        for j in 0..<dimension { dt[index * dimension + j] += g[i * dimension + j] }
                    }
                }
            }
            return [grad]
        }
    }
}
