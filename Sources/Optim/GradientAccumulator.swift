/// Sums the gradients of several micro-batches in a fixed order: the step's gradient is
/// `((g₀ + g₁) + g₂) + …`, where each gᵢ is one micro-batch's whole gradient.
///
/// `backward()` alone would add each use of a parameter into the running sum as it comes (a tied embedding adds
/// two terms per micro-batch), so the sum's rounding would depend on how the micro-batches are grouped. Summing
/// whole micro-batch gradients instead is what makes one process with `accumulate` micro-batches give the same
/// bits as that many processes each computing one micro-batch (see `DataParallel`'s sharded step), and it is what
/// PyTorch's autograd does (a leaf's gradient is summed over the graph, then added into `.grad`).
///
/// ```swift
/// let sum = GradientAccumulator(parameters)
/// for (index, batch) in batches.enumerated() {
///     try model.loss(batch).backward()
///     try sum.collect(first: index == 0)   // takes the gradients and drops them from the parameters
/// }
/// try sum.finish()                         // the sum becomes every parameter's gradient
/// ```
public final class GradientAccumulator {
    public let parameters: [Parameter]
    /// One running sum a parameter, allocated the first time a micro-batch gives it a gradient and reused after.
    private var sums: [FloatBuffer?]
    /// Whether a micro-batch of this step gave the parameter a gradient.
    private var reached: [Bool]

    public init(_ parameters: [Parameter]) {
        self.parameters = parameters
        sums = Array(repeating: nil, count: parameters.count)
        reached = Array(repeating: false, count: parameters.count)
    }

    /// Adds every parameter's current gradient into its sum (the first micro-batch's replaces what an earlier step
    /// left), then drops the gradients, so that the next micro-batch's are computed on their own.
    /// - Throws: ``OptimError/gradientCountMismatch(name:expected:actual:)`` for a gradient of the wrong size.
    public func collect(first: Bool) throws(OptimError) {
        for (index, parameter) in parameters.enumerated() {
            if first { reached[index] = false }
            guard let grad = parameter.grad else { continue }
            guard grad.count == parameter.count else {
                throw .gradientCountMismatch(name: parameter.name, expected: parameter.count, actual: grad.count)
            }
            if !reached[index] {
                reached[index] = true
                if sums[index] == nil { sums[index] = FloatBuffer(count: parameter.count) }
                sums[index]?.withUnsafeMutablePointer { target in
                    grad.withUnsafePointer { target.update(from: $0, count: parameter.count) }
                }
            } else {
                sums[index]?.withUnsafeMutablePointer { target in
                    grad.withUnsafePointer { _ = Reductions.addCheckingFinite($0, to: target, count: parameter.count) }
                }
            }
            parameter.zeroGrad()
        }
    }

    /// Makes each sum its parameter's gradient (written into the parameter's own gradient memory, its finiteness
    /// learned on the way); a parameter no micro-batch reached keeps no gradient.
    public func finish() throws(OptimError) {
        for (index, parameter) in parameters.enumerated() {
            parameter.zeroGrad()
            guard reached[index], let sum = sums[index] else { continue }
            // `withUnsafeBufferPointer` rethrows untyped, so the parameter's error comes out as a value.
            let outcome = sum.withUnsafeBufferPointer { values in
                Result { () throws(OptimError) in try parameter.accumulateGrad(values) }
            }
            if case .failure(let error) = outcome { throw error }
        }
    }
}
