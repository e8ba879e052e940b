import CKernels

/// The per-element update of Adagrad, fused into one pass over memory.
///
/// One step reads θ, g, Σ and writes θ, Σ: 20 bytes a parameter in fp32. It follows the order of PyTorch's
/// single-tensor `adagrad` for dense gradients, with fused multiply-adds where PyTorch rounds twice:
///
///     g ← −g                                  if maximize
///     g ← g + λ·θ                             if weightDecay ≠ 0
///     Σ ← Σ + g²                              state_sum
///     θ ← θ − clr · g / (√Σ + ε),   clr = lr / (1 + (t − 1)·lrDecay)
///
/// A NaN or infinite gradient propagates into θ and Σ, as in PyTorch.
public struct AdagradStep: Sendable {
    /// The decayed learning rate lr / (1 + (t − 1)·lrDecay) of step t, computed in Double.
    public var clr: Float
    public var weightDecay: Float
    public var eps: Float
    public var maximize: Bool

    /// The scalars of step `step` (1-based, counted after this step's increment, as PyTorch does).
    public init(lr: Double, lrDecay: Double, weightDecay: Double, eps: Double, step: Int, maximize: Bool) {
        clr = Float(lr / (1 + Double(step - 1) * lrDecay))
        self.weightDecay = Float(weightDecay)
        self.eps = Float(eps)
        self.maximize = maximize
    }

    /// The memory a step reads and writes: θ, g and the running sum of squared gradients.
    public struct Streams: @unchecked Sendable {
        public var param: UnsafeMutablePointer<Float>
        public var grad: UnsafePointer<Float>
        public var sum: UnsafeMutablePointer<Float>

        public init(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, sum: UnsafeMutablePointer<Float>) {
            self.param = param
            self.grad = grad
            self.sum = sum
        }
    }

    /// Applies the step to the elements `range` of `streams` on the calling thread, on the instruction set `path`
    /// (the C kernel `adamw_adagrad_step`, the bits of ``applyReference(_:count:fused:)`` in the path's family).
    /// Any range gives the same bits for its elements as the whole array does.
    public func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath) {
        guard !range.isEmpty else { return }
        var scalars = adamw_adagrad_scalars(clr: clr, weight_decay: weightDecay, eps: eps, maximize: maximize ? 1 : 0)
        adamw_adagrad_step(path.code, &scalars, streams.param, streams.grad, streams.sum, range.lowerBound,
                           range.upperBound)
    }
}

extension AdagradStep {
    /// The same step as ``apply(_:count:)``, one element at a time with scalar arithmetic and no threads: the
    /// reference the C kernel is tested against, bit for bit, with fused multiply-adds (`fused`, the FMA paths) or
    /// each product and sum rounded (SSE2, generic).
    public func applyReference(_ streams: Streams, count: Int, fused: Bool = true) {
        // c + a·b
        func madd(_ c: Float, _ a: Float, _ b: Float) -> Float { fused ? c.addingProduct(a, b) : c + a * b }
        for i in 0..<count {
            var g = streams.grad[i], theta = streams.param[i], sum = streams.sum[i]
            if maximize { g = -g }
            if weightDecay != 0 { g = madd(g, theta, weightDecay) }
            sum = madd(sum, g, g)
            let std = sum.squareRoot() + eps
            theta = madd(theta, g / std, -clr)
            streams.param[i] = theta
            streams.sum[i] = sum
        }
    }
}
