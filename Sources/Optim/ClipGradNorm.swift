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
    do {
        return try clipGradNorm(parameters, maxNorm: maxNorm, normType: normType, errorIfNonfinite: errorIfNonfinite,
                                gatheringNorms: { $0 })
    } catch let error as OptimError {
        throw error
    } catch {
        preconditionFailure("an identity gather threw \(error)")
    }
}

/// ``clipGradNorm(_:maxNorm:normType:errorIfNonfinite:)`` for gradients spread over processes, each holding some
/// parameters' whole gradients (ZeRO-1's shards): `gather` receives the norm of every parameter whose gradient this
/// process holds (nil for the others), in `parameters` order, and returns every parameter's norm from every
/// process (nil for a parameter with no gradient anywhere). The total and the coefficient are then computed as one
/// process computes them, in the same order, so they are the same bits whatever the number of processes.
@discardableResult
public func clipGradNorm(
    _ parameters: [Parameter], maxNorm: Double, normType: Double = 2, errorIfNonfinite: Bool = false,
    gatheringNorms gather: ([Float?]) throws -> [Float?]
) throws -> Float {
    guard maxNorm.isFinite, maxNorm >= 0 else { throw OptimError.invalidMaxNorm(maxNorm) }
    guard normType > 0 else { throw OptimError.invalidNormType(normType) }
    for parameter in parameters {
        if let grad = parameter.grad, grad.count != parameter.count {
            throw OptimError.gradientCountMismatch(name: parameter.name, expected: parameter.count, actual: grad.count)
        }
    }
    // Each parameter's norm is rounded to Float first, as torch computes one float32 norm per gradient.
    let local = parameters.map { parameter in
        parameter.grad.map { grad in grad.withUnsafePointer { Reductions.norm($0, count: grad.count, order: normType) } }
    }
    let gathered = try gather(local)
    precondition(gathered.count == parameters.count, "the gathered norms are not one a parameter")
    let norms = FloatBuffer(gathered.compactMap { $0 })
    guard norms.count > 0 else { return 0 }
    let total = norms.withUnsafePointer { Reductions.norm($0, count: norms.count, order: normType) }
    if errorIfNonfinite && !total.isFinite { throw OptimError.nonFiniteTotalNorm(total) }

    let coefficient = min(Float(maxNorm) / (total + 1e-6), 1)
    for parameter in parameters where parameter.hasGradient {
        let finite = parameter.gradIsFinite
        parameter.grad?.withUnsafeMutableBufferPointer { g in
            if let base = g.baseAddress { Reductions.scale(base, count: g.count, by: coefficient) }
        }
        // Scaling by a finite factor keeps what is known about finiteness; by NaN, nothing is finite.
        parameter.setGradientFiniteness(coefficient.isFinite ? finite : false)
    }
    return total
}
