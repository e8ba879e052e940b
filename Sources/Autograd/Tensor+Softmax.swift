#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Softmax, log-softmax and the fused softmax cross-entropy, all numerically stable (the maximum is subtracted
// before exponentiating), along any axis.

extension Tensor {
    /// e^xᵢ / Σⱼ e^xⱼ along `axis`.
    public func softmax(axis: Int = -1) throws(TensorError) -> Tensor {
        try normalizedExponential(axis: axis, operation: "softmax", logarithm: false)
    }

    /// xᵢ − log Σⱼ e^xⱼ along `axis`.
    public func logSoftmax(axis: Int = -1) throws(TensorError) -> Tensor {
        try normalizedExponential(axis: axis, operation: "logSoftmax", logarithm: true)
    }

    private func normalizedExponential(axis: Int, operation: String, logarithm: Bool) throws(TensorError) -> Tensor {
        guard let axis = Shape.normalize(axis: axis, rank: rank), rank > 0 else {
            throw .invalidAxis(operation: operation, axis: axis, rank: rank)
        }
        let (outer, size, inner) = Shape.split(shape, axis: axis)
        let input = values
        let output = FloatBuffer(unsafeUninitializedCount: count) { y in
            input.withUnsafeBufferPointer { x in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * size * inner + i
                        var largest = -Float.infinity
                        for s in 0..<size { largest = max(largest, x[base + s * inner]) }
                        var total: Float = 0
                        for s in 0..<size { total += expf(x[base + s * inner] - largest) }
                        let logTotal = logf(total)
                        for s in 0..<size {
                            let shifted = x[base + s * inner] - largest
                            y[base + s * inner] = logarithm ? shifted - logTotal : expf(shifted) / total
                        }
                    }
                }
            }
        }
        return Tensor.result(output, shape: shape, inputs: [self]) { g in
            // softmax: dx = y ⊙ (g − Σ g⊙y);  logSoftmax: dx = g − softmax ⊙ Σ g.
            let grad = FloatBuffer(unsafeUninitializedCount: g.count) { dx in
                g.withUnsafeBufferPointer { g in
                    output.withUnsafeBufferPointer { y in
                        for o in 0..<outer {
                            for i in 0..<inner {
                                let base = o * size * inner + i
                                var total: Float = 0
                                for s in 0..<size {
                                    let at = base + s * inner
                                    total += logarithm ? g[at] : g[at] * y[at]
                                }
                                for s in 0..<size {
                                    let at = base + s * inner
                                    dx[at] = logarithm ? g[at] - expf(y[at]) * total : y[at] * (g[at] - total)
                                }
                            }
                        }
                    }
                }
            }
            return [grad]
        }
    }

    /// The indices of the largest values along `axis` (the first on ties; NaN counts as largest, as PyTorch).
    /// Not differentiable.
    public func argmax(axis: Int = -1) throws(TensorError) -> [Int] {
        guard let axis = Shape.normalize(axis: axis, rank: rank), rank > 0, shape[axis] > 0 else {
            throw .invalidAxis(operation: "argmax", axis: axis, rank: rank)
        }
        let (outer, size, inner) = Shape.split(shape, axis: axis)
        return withValues { x in
            var result = [Int](repeating: 0, count: outer * inner)
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * size * inner + i
                    var best = 0
                    var bestValue = x[base]
                    for s in 1..<size where !bestValue.isNaN {
                        let value = x[base + s * inner]
                        if value > bestValue || value.isNaN { best = s; bestValue = value }
                    }
                    result[o * inner + i] = best
                }
            }
            return result
        }
    }
}

/// The mean softmax cross-entropy of `logits` [N, C] against class indices `targets` (N of them, each in 0..<C),
/// fused and numerically stable: mean over i of (log Σⱼ e^zᵢⱼ − zᵢ,yᵢ). Its gradient is (softmax(z) − onehot(y)) / N.
/// - Throws: ``TensorError/shapeMismatch(operation:shapes:)`` for other shapes,
///   ``TensorError/labelOutOfRange(operation:label:classes:)`` for a target outside 0..<C.
public func crossEntropy(_ logits: Tensor, _ targets: [Int]) throws(TensorError) -> Tensor {
    guard logits.rank == 2, logits.shape[0] == targets.count, logits.shape[0] > 0 else {
        throw .shapeMismatch(operation: "crossEntropy", shapes: [logits.shape, [targets.count]])
    }
    let (rows, classes) = (logits.shape[0], logits.shape[1])
    if let bad = targets.first(where: { !(0..<classes).contains($0) }) {
        throw .labelOutOfRange(operation: "crossEntropy", label: bad, classes: classes)
    }
    // The softmax probabilities are kept for backward, which is then one subtraction per element.
    var probabilities = FloatBuffer(count: rows * classes)
    var total = 0.0
    logits.values.withUnsafePointer { z in
        probabilities.withUnsafeMutablePointer { p in
            for r in 0..<rows {
                let row = z + r * classes, out = p + r * classes
                var largest = -Float.infinity
                for j in 0..<classes { largest = max(largest, row[j]) }
                var sum: Float = 0
                for j in 0..<classes {
                    out[j] = expf(row[j] - largest)
                    sum += out[j]
                }
                for j in 0..<classes { out[j] /= sum }
                total += Double(largest + logf(sum) - row[targets[r]])
            }
        }
    }
    let loss = FloatBuffer([Float(total / Double(rows))])
    return Tensor.result(loss, shape: [], inputs: [logits]) { g in
        let scale = g[0] / Float(rows)
        let grad = FloatBuffer(unsafeUninitializedCount: rows * classes) { dz in
            probabilities.withUnsafeBufferPointer { p in
                for i in 0..<dz.count { dz[i] = p[i] * scale }
                for r in 0..<rows { dz[r * classes + targets[r]] -= scale }
            }
        }
        return [grad]
    }
}

/// The mean softmax cross-entropy against class indices given as a tensor of integral values.
public func crossEntropy(_ logits: Tensor, _ targets: Tensor) throws(TensorError) -> Tensor {
    let labels = targets.array.map { Int(exactly: $0) ?? -1 }
    return try crossEntropy(logits, labels)
}

/// The mean squared error mean((input − target)²) between tensors of the same shape.
public func mseLoss(_ input: Tensor, _ target: Tensor) throws(TensorError) -> Tensor {
    guard input.shape == target.shape else {
        throw .shapeMismatch(operation: "mseLoss", shapes: [input.shape, target.shape])
    }
    let x = input.values, y = target.values
    let count = input.count
    let total = x.withUnsafeBufferPointer { x in
        y.withUnsafeBufferPointer { y in
            (0..<count).reduce(0.0) { sum, i in
                let d = Double(x[i] - y[i])
                return sum + d * d
            }
        }
    }
    let loss = FloatBuffer([Float(total / Double(count))])
    return Tensor.result(loss, shape: [], inputs: [input, target]) { g in
        let scale = 2 * g[0] / Float(count)
        let difference = FloatBuffer(unsafeUninitializedCount: count) { d in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeBufferPointer { y in for i in 0..<count { d[i] = (x[i] - y[i]) * scale } }
            }
        }
        let negated = FloatBuffer(difference.map { -$0 })
        return [input.requiresGrad ? difference : nil, target.requiresGrad ? negated : nil]
    }
}
