/// Scales the gradients of `parameters` so that their total norm is at most `maxNorm`, and returns the total norm
/// from before clipping, as `torch.nn.utils.clip_grad_norm_`.
///
/// The total norm is the `normType`-norm of the vector of per-parameter gradient norms (which equals the norm of
/// all gradients concatenated); `normType` is any p > 0 or `.infinity` (the largest magnitude). Each gradient is
/// multiplied by `min(1, maxNorm / (totalNorm + 1e-6))` in Float, as PyTorch does. Parameters without a gradient
/// are ignored; with none at all the norm is 0.
///
/// Norms are accumulated in Double in fixed blocks, so the result is independent of the thread count.
///
/// - Throws: ``OptimError/invalidMaxNorm(_:)``, ``OptimError/invalidNormType(_:)``,
///   ``OptimError/gradientCountMismatch(name:expected:actual:)``, or with `errorIfNonfinite`
///   ``OptimError/nonFiniteTotalNorm(_:)`` when the norm is NaN or infinite (nothing is scaled then).
@discardableResult
public func clipGradNorm(
    _ parameters: [Parameter], maxNorm: Double, normType: Double = 2, errorIfNonfinite: Bool = false
) throws(OptimError) -> Float {
    guard maxNorm.isFinite, maxNorm >= 0 else { throw .invalidMaxNorm(maxNorm) }
    guard normType > 0 else { throw .invalidNormType(normType) }
    let withGrad = parameters.compactMap { parameter in parameter.grad.map { (parameter, $0) } }
    for (parameter, grad) in withGrad where grad.count != parameter.count {
        throw .gradientCountMismatch(name: parameter.name, expected: parameter.count, actual: grad.count)
    }
    guard !withGrad.isEmpty else { return 0 }

    // Each parameter's norm is rounded to Float first, as torch computes one float32 norm per gradient.
    let norms = FloatBuffer(withGrad.map { _, grad in
        grad.withUnsafePointer { Reductions.norm($0, count: grad.count, order: normType) }
    })
    let total = norms.withUnsafePointer { Reductions.norm($0, count: norms.count, order: normType) }
    if errorIfNonfinite && !total.isFinite { throw .nonFiniteTotalNorm(total) }

    let coefficient = min(Float(maxNorm) / (total + 1e-6), 1)
    for (parameter, _) in withGrad {
        let finite = parameter.gradIsFinite
        parameter.grad?.withUnsafeMutableBufferPointer { g in
            if let base = g.baseAddress { Reductions.scale(base, count: g.count, by: coefficient) }
        }
        // Scaling by a finite factor keeps what is known about finiteness; by NaN, nothing is finite.
        parameter.setGradientFiniteness(coefficient.isFinite ? finite : false)
    }
    return total
}
