import CKernels

/// Layer normalization over rows of `n` Floats and its backward pass, as llm.c's `layernorm_forward` and
/// `layernorm_backward`:
///
///     x, y, g, dx are (rows, n); weight γ, bias β, dWeight, dBias are (n); mean, rstd are (rows)
///     mean = Σx / n;  var = Σ(x − mean)² / n (biased, as PyTorch);  rstd = 1/√(var + eps)
///     x̂ = (x − mean)·rstd;  y = x̂·γ + β
///     dx̂ = g·γ;  dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂));  dWeight = Σ_rows g·x̂;  dBias = Σ_rows g
///
/// The loops are C (`adamw_layer_norm_*`). Rows are read in 16-lane vectors (the last one zero-padded) with 16
/// partial sums per row, added pairwise, and the variance takes a second pass over the deviations from the mean, so
/// it has no cancellation. The rows are cut into blocks of ``rowsPerTask`` that run
/// in parallel; dWeight and dBias add each block's partial sums in block order, so the result is the same bits on
/// any thread count.
public enum LayerNormKernel {
    /// Rows per task: 64 rows of 128 are 8k elements, a few µs of work.
    public static let rowsPerTask = 64

    /// y, and each row's mean and rstd (for ``backward(_:_:weight:mean:rstd:dx:dWeight:dBias:rows:n:)``).
    /// Without a weight γ is 1; without a bias β is 0.
    public static func forward(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        rows: Int, n: Int, eps: Double
    ) {
        let path = CPUPath.current.code
        let (input, output) = (UncheckedPointer(UnsafeMutablePointer(mutating: x)), UncheckedPointer(y))
        let (means, inverses) = (UncheckedPointer(mean), UncheckedPointer(rstd))
        withAffine(weight, bias, n) { gamma, beta in
            let affine = (UncheckedPointer(UnsafeMutablePointer(mutating: gamma)), UncheckedPointer(UnsafeMutablePointer(mutating: beta)))
            ThreadPool.current.forEachFixedChunk(count: rows, chunk: rowsPerTask) { block in
                adamw_layer_norm_forward(path, input.value, affine.0.value, affine.1.value, output.value, means.value,
                                         inverses.value, block.lowerBound, block.upperBound, n, eps)
            }
        }
    }

    /// dx (when non-nil) and dWeight, dBias (each when non-nil, written, not added to), from the upstream gradient
    /// `g`, the input and the forward's mean and rstd.
    public static func backward(
        _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?, rows: Int, n: Int
    ) {
        let path = CPUPath.current.code
        let blocks = (rows + rowsPerTask - 1) / rowsPerTask
        let (gradient, input) = (UncheckedPointer(UnsafeMutablePointer(mutating: g)), UncheckedPointer(UnsafeMutablePointer(mutating: x)))
        let (means, inverses) = (UncheckedPointer(UnsafeMutablePointer(mutating: mean)), UncheckedPointer(UnsafeMutablePointer(mutating: rstd)))
        let inputGradient = dx.map(UncheckedPointer.init)
        // Per block: Σ g·x̂ in row 2·block and Σ g in row 2·block + 1 of the scratch.
        withAffine(weight, nil, n) { gamma, _ in
            let affine = UncheckedPointer(UnsafeMutablePointer(mutating: gamma))
            ThreadPool.current.withScratch(floats: 2 * blocks * n) { partials in
                let sums = UncheckedPointer(partials)
                ThreadPool.current.forEachFixedChunk(count: rows, chunk: rowsPerTask) { block in
                    adamw_layer_norm_backward(path, gradient.value, input.value, affine.value, means.value, inverses.value,
                                              inputGradient?.value, sums.value + 2 * (block.lowerBound / rowsPerTask) * n,
                                              block.lowerBound, block.upperBound, n)
                }
                adamw_layer_norm_sum_blocks(path, partials, blocks, n, dWeight, dBias)
            }
        }
    }

    /// Calls `body` with γ and β, rows of n ones and zeros from scratch memory where they are nil, so that the
    /// loops have no optional.
    static func withAffine(
        _ weight: UnsafePointer<Float>?, _ bias: UnsafePointer<Float>?, _ n: Int,
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Void
    ) {
        ThreadPool.current.withScratch(floats: 2 * n) { scratch in
            if weight == nil { scratch.update(repeating: 1, count: n) }
            if bias == nil { (scratch + n).update(repeating: 0, count: n) }
            body(weight ?? UnsafePointer(scratch), bias ?? UnsafePointer(scratch + n))
        }
    }
}
