/// Layer normalization over rows of `n` Floats and its backward pass, as llm.c's `layernorm_forward` and
/// `layernorm_backward`:
///
///     x, y, g, dx are (rows, n); weight γ, bias β, dWeight, dBias are (n); mean, rstd are (rows)
///     mean = Σx / n;  var = Σ(x − mean)² / n (biased, as PyTorch);  rstd = 1/√(var + eps)
///     x̂ = (x − mean)·rstd;  y = x̂·γ + β
///     dx̂ = g·γ;  dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂));  dWeight = Σ_rows g·x̂;  dBias = Σ_rows g
///
/// Rows are read in SIMD16 vectors (the last one zero-padded) with 16 partial sums per row, and the variance takes
/// a second pass over the deviations from the mean, so it has no cancellation. The rows are cut into blocks of ``rowsPerTask`` that run
/// in parallel; dWeight and dBias add each block's partial sums in block order, so the result is the same bits on
/// any thread count.
public enum LayerNormKernel {
    typealias Vector = SIMD16<Float>

    /// Rows per task: 64 rows of 128 are 8k elements, a few µs of work.
    public static let rowsPerTask = 64

    /// y, and each row's mean and rstd (for ``backward(_:_:weight:mean:rstd:dx:dWeight:dBias:rows:n:)``).
    /// Without a weight γ is 1; without a bias β is 0.
    public static func forward(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        rows: Int, n: Int, eps: Double
    ) {
        withAffine(weight, bias, n) { gamma, beta in
            ThreadPool.current.forEachFixedChunk(count: rows, chunk: rowsPerTask) { block in
                for r in block {
                    let row = x + r * n, out = y + r * n
                    let (rowMean, variance) = moments(row, n)
                    let inverse = Float(1 / (Double(variance) + eps).squareRoot())
                    mean[r] = rowMean
                    rstd[r] = inverse
                    @inline(always) func normalize(_ j: Int, _ lanes: Int) {
                        let xhat = (load(row + j, lanes) - rowMean) * inverse
                        store(load(beta + j, lanes).addingProduct(xhat, load(gamma + j, lanes)), to: out + j, lanes)
                    }
                    forEachVector(n, normalize)
                }
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
        let blocks = (rows + rowsPerTask - 1) / rowsPerTask
        // Per block: Σ g·x̂ in row 2·block and Σ g in row 2·block + 1 of the scratch.
        withAffine(weight, nil, n) { gamma, _ in
            ThreadPool.current.withScratch(floats: 2 * blocks * n) { partials in
                ThreadPool.current.forEachFixedChunk(count: rows, chunk: rowsPerTask) { block in
                    let sums = partials + 2 * (block.lowerBound / rowsPerTask) * n
                    sums.update(repeating: 0, count: 2 * n)
                    for r in block {
                        let row = x + r * n, gradient = g + r * n
                        let (rowMean, inverse) = (mean[r], rstd[r])
                        var sumGrad = Vector(), sumGradXhat = Vector()
                        @inline(always) func accumulate(_ j: Int, _ lanes: Int) {
                            let xhat = (load(row + j, lanes) - rowMean) * inverse
                            let gj = load(gradient + j, lanes)
                            let dxhat = gj * load(gamma + j, lanes)
                            sumGrad += dxhat
                            sumGradXhat = sumGradXhat.addingProduct(dxhat, xhat)
                            store(load(sums + j, lanes).addingProduct(gj, xhat), to: sums + j, lanes)
                            store(load(sums + n + j, lanes) + gj, to: sums + n + j, lanes)
                        }
                        forEachVector(n, accumulate)
                        guard let dx else { continue }
                        let meanGrad = VectorMath.sum(sumGrad) / Float(n)
                        let meanGradXhat = VectorMath.sum(sumGradXhat) / Float(n)
                        @inline(always) func gradientOfInput(_ j: Int, _ lanes: Int) {
                            let xhat = (load(row + j, lanes) - rowMean) * inverse
                            let dxhat = load(gradient + j, lanes) * load(gamma + j, lanes)
                            store((dxhat - meanGrad).addingProduct(-xhat, meanGradXhat) * inverse, to: dx + r * n + j,
                                  lanes)
                        }
                        forEachVector(n, gradientOfInput)
                    }
                }
                for j in Swift.stride(from: 0, to: n, by: 16) {
                    let lanes = Swift.min(16, n - j)
                    var weightSum = Vector(), biasSum = Vector()
                    for b in 0..<blocks {
                        weightSum += load(partials + 2 * b * n + j, lanes)
                        biasSum += load(partials + (2 * b + 1) * n + j, lanes)
                    }
                    if let dWeight { store(weightSum, to: dWeight + j, lanes) }
                    if let dBias { store(biasSum, to: dBias + j, lanes) }
                }
            }
        }
    }

    /// Calls `body` with γ and β, rows of n ones and zeros from scratch memory where they are nil, so that the
    /// loops have no optional (an optional SIMD16 in the loop split it into 128-bit pieces).
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

    /// Calls `body(j, 16)` for each whole vector of a row of n and `body(j, lanes)` for the last, partial one:
    /// with `body` inlined, the main loop's loads and stores are whole vectors.
    @inline(always)
    static func forEachVector(_ n: Int, _ body: (Int, Int) -> Void) {
        var j = 0
        while j + 16 <= n {
            body(j, 16)
            j += 16
        }
        if j < n { body(j, n - j) }
    }

    /// The row's mean, then its (biased) variance as the mean of the squared deviations (a second pass: no
    /// cancellation, unlike E[x²] − E[x]²). 16 partial sums each; padding lanes count 0.
    @inline(always)
    static func moments(_ row: UnsafePointer<Float>, _ n: Int) -> (mean: Float, variance: Float) {
        var total = Vector()
        var j = 0
        while j < n {
            total += load(row + j, Swift.min(16, n - j))
            j += 16
        }
        let mean = VectorMath.sum(total) / Float(n)
        // Lane numbers as Floats: Swift compares integer vectors lane by lane, Float vectors in one instruction.
        let lane = Vector(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        var squares = Vector()
        j = 0
        while j < n {
            let lanes = Swift.min(16, n - j)
            let deviation = (load(row + j, lanes) - mean).replacing(with: 0, where: lane .>= Float(lanes))
            squares = squares.addingProduct(deviation, deviation)
            j += 16
        }
        return (mean, VectorMath.sum(squares) / Float(n))
    }

    /// A whole vector when `lanes` is 16 (every vector but a row's last), else the zero-padded first `lanes`.
    @inline(always)
    static func load(_ pointer: UnsafePointer<Float>, _ lanes: Int) -> Vector {
        lanes == 16 ? Vector.load(pointer) : Vector.load(pointer, count: lanes)
    }

    @inline(always)
    static func load(_ pointer: UnsafeMutablePointer<Float>, _ lanes: Int) -> Vector {
        load(UnsafePointer(pointer), lanes)
    }

    @inline(always)
    static func store(_ vector: Vector, to pointer: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == 16 { vector.store(to: pointer) } else { vector.store(to: pointer, count: lanes) }
    }
}
