// Matrix products on the GEMM kernel, and the fused linear layer y = x·Wᵀ + b.

extension Tensor {
    /// op(self)·op(other): self is [m, k] (or [k, m] with `transposeSelf`), other is [k, n] (or [n, k] with
    /// `transposeOther`). Without `transposeSelf`, self may have more leading dimensions ([…, m, k] → […, m, n]).
    ///
    /// Backward: d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, each one GEMM that reads its operands with the
    /// right transposition instead of copying them.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false)
        throws(TensorError) -> Tensor
    {
        guard rank >= 2, other.rank == 2, !(transposeSelf && rank != 2) else {
            throw .shapeMismatch(operation: "matmul", shapes: [shape, other.shape])
        }
        let m = transposeSelf ? shape[1] : Shape.count(Array(shape.dropLast()))
        let k = transposeSelf ? shape[0] : shape[rank - 1]
        let (kOther, n) = transposeOther ? (other.shape[1], other.shape[0]) : (other.shape[0], other.shape[1])
        guard k == kOther else {
            throw .shapeMismatch(operation: "matmul", shapes: [shape, other.shape])
        }
        let outputShape = transposeSelf ? [m, n] : Array(shape.dropLast()) + [n]
        let a = values, b = other.values
        let (ta, tb) = (transposeSelf, transposeOther)
        let output = Tensor.gemm(m: m, n: n, k: k, a, transposeA: ta, b, transposeB: tb)
        return Tensor.result(output, shape: outputShape, inputs: [self, other]) { [requiresA = requiresGrad, requiresB = other.requiresGrad] g in
            var gradA: FloatBuffer?, gradB: FloatBuffer?
            if requiresA {
                // A is [m, k]: dA = dC·op(B)ᵀ. A stored [k, m]: dA = op(B)·dCᵀ.
                gradA = ta
                    ? Tensor.gemm(m: k, n: m, k: n, b, transposeA: tb, g, transposeB: true)
                    : Tensor.gemm(m: m, n: k, k: n, g, transposeA: false, b, transposeB: !tb)
            }
            if requiresB {
                // B is [k, n]: dB = op(A)ᵀ·dC. B stored [n, k]: dB = dCᵀ·op(A).
                gradB = tb
                    ? Tensor.gemm(m: n, n: k, k: m, g, transposeA: true, a, transposeB: ta)
                    : Tensor.gemm(m: k, n: n, k: m, a, transposeA: !ta, g, transposeB: false)
            }
            return [gradA, gradB]
        }
    }

    /// A fully connected layer: self·weightᵀ + bias, with self [..., in], weight [out, in] and bias [out]
    /// (PyTorch's layout). Fused, so that the bias needs no broadcast pass and backward takes two GEMMs and a
    /// column sum.
    public func linear(weight: Tensor, bias: Tensor?) throws(TensorError) -> Tensor {
        guard rank >= 1, weight.rank == 2, shape[rank - 1] == weight.shape[1],
              bias.map({ $0.shape == [weight.shape[0]] }) ?? true
        else {
            throw .shapeMismatch(operation: "linear", shapes: [shape, weight.shape] + (bias.map { [$0.shape] } ?? []))
        }
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        let rows = Shape.count(Array(shape.dropLast()))
        let x = values, w = weight.values, b = bias?.values
        var output = Tensor.gemm(m: rows, n: outFeatures, k: inFeatures, x, transposeA: false, w, transposeB: true)
        if let b {
            output.withUnsafeMutablePointer { y in
                b.withUnsafePointer { b in
                    for r in 0..<rows {
                        let row = y + r * outFeatures
                        for j in 0..<outFeatures { row[j] += b[j] }
                    }
                }
            }
        }
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        let needs = inputs.map(\.requiresGrad)
        return Tensor.result(output, shape: Array(shape.dropLast()) + [outFeatures], inputs: inputs) { g in
            // dX = dY·W, dW = dYᵀ·X, db = Σ_rows dY.
            let gradX = needs[0] ? Tensor.gemm(m: rows, n: inFeatures, k: outFeatures, g, transposeA: false, w, transposeB: false) : nil
            // A parameter's first gradient is written straight into its gradient memory: no weight-sized
            // buffer, no copy (the same products either way).
            var gradW: FloatBuffer?
            if needs[1] {
                let inPlace = weight.takesGradientAsItComes ? weight.parameter : nil
                let written = inPlace?.writeFirstGradient { target in
                    Tensor.gemm(m: outFeatures, n: inFeatures, k: rows, g, transposeA: true, x, transposeB: false, into: target)
                } ?? false
                if !written { gradW = Tensor.gemm(m: outFeatures, n: inFeatures, k: rows, g, transposeA: true, x, transposeB: false) }
            }
            var gradients = [gradX, gradW]
            if needs.count == 3 {
                gradients.append(needs[2] ? Tensor.columnSums(g, rows: rows, columns: outFeatures) : nil)
            }
            return gradients
        }
    }

    /// C[m, n] = op(A)·op(B) into a new buffer.
    static func gemm(
        m: Int, n: Int, k: Int, _ a: FloatBuffer, transposeA: Bool, _ b: FloatBuffer, transposeB: Bool
    ) -> FloatBuffer {
        var c = FloatBuffer(unsafeUninitializedCount: m * n) { _ in }
        c.withUnsafeMutablePointer { c in gemm(m: m, n: n, k: k, a, transposeA: transposeA, b, transposeB: transposeB, into: c) }
        return c
    }

    /// C[m, n] = op(A)·op(B) into `c` (m·n elements, overwritten).
    static func gemm(
        m: Int, n: Int, k: Int, _ a: FloatBuffer, transposeA: Bool, _ b: FloatBuffer, transposeB: Bool,
        into c: UnsafeMutablePointer<Float>
    ) {
        a.withUnsafePointer { a in
            b.withUnsafePointer { b in
                GEMM.multiply(
                    m: m, n: n, k: k, a: a, lda: transposeA ? m : k, transposeA: transposeA,
                    b: b, ldb: transposeB ? k : n, transposeB: transposeB, c: c, ldc: n, accumulate: false)
            }
        }
    }

    /// Σ over rows of a [rows, columns] matrix, accumulated in Double.
    static func columnSums(_ g: FloatBuffer, rows: Int, columns: Int) -> FloatBuffer {
        var sums = [Double](repeating: 0, count: columns)
        g.withUnsafeBufferPointer { g in
            for r in 0..<rows {
                for j in 0..<columns { sums[j] += Double(g[r * columns + j]) }
            }
        }
        return FloatBuffer(sums.map { Float($0) })
    }
}
