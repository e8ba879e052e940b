// Reshaping and transposition. Reshape shares the values (they are contiguous); transpose copies.

extension Tensor {
    /// The same values with another shape of the same count; one dimension may be −1 (inferred).
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        let known = newShape.filter { $0 != -1 }
        guard inferred.count <= 1, known.allSatisfy({ $0 >= 0 }) else {
            throw .invalidShape(operation: "reshape", shape: newShape, count: count)
        }
        if let axis = inferred.first {
            let product = Shape.count(known)
            guard product > 0, count % product == 0 else {
                throw .invalidShape(operation: "reshape", shape: newShape, count: count)
            }
            resolved[axis] = count / product
        }
        guard Shape.count(resolved) == count else {
            throw .invalidShape(operation: "reshape", shape: newShape, count: count)
        }
        return Tensor.result(values, shape: resolved, inputs: [self]) { g in [g] }
    }

    /// Dimensions `startDim` through `endDim` merged into one (PyTorch's `flatten`; by default all but the first).
    public func flattened(startDim: Int = 1, endDim: Int = -1) throws(TensorError) -> Tensor {
        guard let start = Shape.normalize(axis: startDim, rank: rank) else {
            throw .invalidAxis(operation: "flatten", axis: startDim, rank: rank)
        }
        guard let end = Shape.normalize(axis: endDim, rank: rank), start <= end else {
            throw .invalidAxis(operation: "flatten", axis: endDim, rank: rank)
        }
        guard rank > 0 else { return try reshaped([1]) }
        let merged = Shape.count(Array(shape[start...end]))
        return try reshaped(Array(shape[..<start]) + [merged] + Array(shape[(end + 1)...]))
    }

    /// The tensor with axes `axis0` and `axis1` swapped (a copy in the new row-major order).
    public func transposed(_ axis0: Int = -2, _ axis1: Int = -1) throws(TensorError) -> Tensor {
        guard let a = Shape.normalize(axis: axis0, rank: rank), rank > 0 else {
            throw .invalidAxis(operation: "transpose", axis: axis0, rank: rank)
        }
        guard let b = Shape.normalize(axis: axis1, rank: rank) else {
            throw .invalidAxis(operation: "transpose", axis: axis1, rank: rank)
        }
        var permutation = Array(0..<rank)
        permutation.swapAt(a, b)
        let outputShape = permutation.map { shape[$0] }
        let output = Tensor.permute(values, shape: shape, permutation: permutation)
        return Tensor.result(output, shape: outputShape, inputs: [self]) { g in
            [Tensor.permute(g, shape: outputShape, permutation: permutation)]
        }
    }

    /// `values` of `shape` rearranged so that output axis i is input axis permutation[i].
    static func permute(_ values: FloatBuffer, shape: [Int], permutation: [Int]) -> FloatBuffer {
        let inputStrides = Shape.strides(shape)
        let outputShape = permutation.map { shape[$0] }
        let readStrides = permutation.map { inputStrides[$0] }
        let count = values.count
        return FloatBuffer(unsafeUninitializedCount: count) { out in
            values.withUnsafeBufferPointer { x in
                guard count > 0 else { return }
                var index = [Int](repeating: 0, count: outputShape.count)
                var source = 0
                for o in 0..<count {
                    out[o] = x[source]
                    var axis = outputShape.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        source += readStrides[axis]
                        if index[axis] < outputShape[axis] { break }
                        source -= readStrides[axis] * outputShape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
    }
}
