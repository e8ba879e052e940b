// Sums and means over all elements or along one axis, accumulated in Double in a fixed order.

extension Tensor {
    /// The sum of all elements, a scalar tensor.
    public func sum() -> Tensor { reduceAll(scale: 1) }

    /// The mean of all elements, a scalar tensor (NaN for an empty tensor, as PyTorch).
    public func mean() -> Tensor { reduceAll(scale: 1 / Double(count)) }

    /// The sum along `axis` (−1 is the last), which is removed unless `keepDims`.
    public func sum(axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
        try reduce(axis: axis, keepDims: keepDims, operation: "sum", mean: false)
    }

    /// The mean along `axis` (−1 is the last), which is removed unless `keepDims`.
    public func mean(axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
        try reduce(axis: axis, keepDims: keepDims, operation: "mean", mean: true)
    }

    private func reduceAll(scale: Double) -> Tensor {
        let total = withValues { x in
            var sum = 0.0
            for value in x { sum += Double(value) }
            return sum
        }
        let count = self.count
        return Tensor.result(FloatBuffer([Float(total * scale)]), shape: [], inputs: [self]) { g in
            [FloatBuffer(count: count, repeating: Float(Double(g[0]) * scale))]
        }
    }

    private func reduce(axis: Int, keepDims: Bool, operation: String, mean: Bool) throws(TensorError) -> Tensor {
        guard let axis = Shape.normalize(axis: axis, rank: rank), rank > 0 else {
            throw .invalidAxis(operation: operation, axis: axis, rank: rank)
        }
        let (outer, size, inner) = Shape.split(shape, axis: axis)
        let scale = mean ? 1 / Double(size) : 1
        var outputShape = shape
        if keepDims { outputShape[axis] = 1 } else { outputShape.remove(at: axis) }
        let output = FloatBuffer(unsafeUninitializedCount: outer * inner) { out in
            values.withUnsafePointer { x in
                var accumulator = [Double](repeating: 0, count: inner)
                for o in 0..<outer {
                    for i in 0..<inner { accumulator[i] = 0 }
                    for s in 0..<size {
                        let row = x + (o * size + s) * inner
                        for i in 0..<inner { accumulator[i] += Double(row[i]) }
                    }
                    for i in 0..<inner { out[o * inner + i] = Float(accumulator[i] * scale) }
                }
            }
        }
        let inputCount = count
        return Tensor.result(output, shape: outputShape, inputs: [self]) { g in
            let grad = FloatBuffer(unsafeUninitializedCount: inputCount) { dx in
                g.withUnsafeBufferPointer { g in
                    for o in 0..<outer {
                        for s in 0..<size {
                            for i in 0..<inner { dx[(o * size + s) * inner + i] = Float(Double(g[o * inner + i]) * scale) }
                        }
                    }
                }
            }
            return [grad]
        }
    }
}
