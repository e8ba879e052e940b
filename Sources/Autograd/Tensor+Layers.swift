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
        var normalized = FloatBuffer(count: count)          // x̂, kept for backward
        var inverseDeviation = [Float](repeating: 0, count: rows)
        let output = FloatBuffer(unsafeUninitializedCount: count) { y in
            x.withUnsafePointer { x in
                normalized.withUnsafeMutableBufferPointer { xhat in
                    for r in 0..<rows {
                        let row = x + r * n
                        var mean = 0.0
                        for j in 0..<n { mean += Double(row[j]) }
                        mean /= Double(n)
                        var variance = 0.0
                        for j in 0..<n { let d = Double(row[j]) - mean; variance += d * d }
                        variance /= Double(n)
                        let inverse = 1 / (variance + eps).squareRoot()
                        inverseDeviation[r] = Float(inverse)
                        for j in 0..<n {
                            let value = Float((Double(row[j]) - mean) * inverse)
                            xhat[r * n + j] = value
                            y[r * n + j] = value * (gamma?[j] ?? 1) + (beta?[j] ?? 0)
                        }
                    }
                }
            }
        }
        let inputs = [self] + [weight, bias].compactMap { $0 }
        let needsInput = requiresGrad, needsWeight = weight?.requiresGrad ?? false, needsBias = bias?.requiresGrad ?? false
        return Tensor.result(output, shape: shape, inputs: inputs) { g in
            var gradX: FloatBuffer?, gradWeight: FloatBuffer?, gradBias: FloatBuffer?
            if needsWeight { gradWeight = FloatBuffer(count: n) }
            if needsBias { gradBias = FloatBuffer(count: n) }
            if needsInput { gradX = FloatBuffer(count: rows * n) }
            g.withUnsafeBufferPointer { g in
                normalized.withUnsafeBufferPointer { xhat in
                    for r in 0..<rows {
                        // dx̂ = g·γ;  dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
                        var meanGrad: Float = 0, meanGradXhat: Float = 0
                        for j in 0..<n {
                            let at = r * n + j
                            let dxhat = g[at] * (gamma?[j] ?? 1)
                            meanGrad += dxhat
                            meanGradXhat += dxhat * xhat[at]
                            gradWeight?[j] += g[at] * xhat[at]
                            gradBias?[j] += g[at]
                        }
                        guard gradX != nil else { continue }
                        meanGrad /= Float(n)
                        meanGradXhat /= Float(n)
                        for j in 0..<n {
                            let at = r * n + j
                            let dxhat = g[at] * (gamma?[j] ?? 1)
                            gradX?[at] = inverseDeviation[r] * (dxhat - meanGrad - xhat[at] * meanGradXhat)
                        }
                    }
                }
            }
            return [gradX] + (weight != nil ? [gradWeight] : []) + (bias != nil ? [gradBias] : [])
        }
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
        return Tensor.result(output, shape: indexShape + [dimension], inputs: [self]) { g in
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
