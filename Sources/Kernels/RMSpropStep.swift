import CKernels

/// The per-element update of RMSprop, fused into one pass over memory.
///
/// One step reads θ, g, s (and ḡ when centered, b with momentum) and writes θ, s (ḡ, b): 20 to 36 bytes a
/// parameter in fp32. It follows the order of PyTorch's single-tensor `rmsprop`, with fused multiply-adds where
/// PyTorch rounds twice (so results agree to rounding, within the reference tolerance, not bit for bit):
///
///     g ← −g                                  if maximize
///     g ← g + λ·θ                             if weightDecay ≠ 0
///     s ← α·s + (1 − α)·g²                    square_avg
///     ḡ ← lerp(ḡ, g, 1 − α)                   centered: grad_avg, with PyTorch's lerp as in ``AdamStep``
///     avg ← √(s − ḡ²) + ε   centered,   else   avg ← √s + ε
///     b ← μ·b + g / avg;   θ ← θ − lr·b       if momentum > 0
///     θ ← θ − lr · g / avg                    otherwise
///
/// A NaN or infinite gradient propagates into θ and s, as in PyTorch.
public struct RMSpropStep: Sendable {
    public var lr: Float
    /// The smoothing constant α of the square average.
    public var alpha: Float
    /// 1 − α, computed in Double: the weight of g² in s and the lerp weight of ḡ.
    public var oneMinusAlpha: Float
    public var eps: Float
    public var weightDecay: Float
    public var momentum: Float
    public var centered: Bool
    public var maximize: Bool

    public init(
        lr: Double, alpha: Double, eps: Double, weightDecay: Double, momentum: Double, centered: Bool, maximize: Bool
    ) {
        self.lr = Float(lr)
        self.alpha = Float(alpha)
        oneMinusAlpha = Float(1 - alpha)
        self.eps = Float(eps)
        self.weightDecay = Float(weightDecay)
        self.momentum = Float(momentum)
        self.centered = centered
        self.maximize = maximize
    }

    /// The memory a step reads and writes. `gradAvg` is needed when centered, `momentumBuffer` when momentum > 0.
    public struct Streams: @unchecked Sendable {
        public var param: UnsafeMutablePointer<Float>
        public var grad: UnsafePointer<Float>
        public var squareAvg: UnsafeMutablePointer<Float>
        public var gradAvg: UnsafeMutablePointer<Float>?
        public var momentumBuffer: UnsafeMutablePointer<Float>?

        public init(
            param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, squareAvg: UnsafeMutablePointer<Float>,
            gradAvg: UnsafeMutablePointer<Float>? = nil, momentumBuffer: UnsafeMutablePointer<Float>? = nil
        ) {
            self.param = param
            self.grad = grad
            self.squareAvg = squareAvg
            self.gradAvg = gradAvg
            self.momentumBuffer = momentumBuffer
        }
    }

    /// Applies the step to the elements `range` of `streams` on the calling thread, on the instruction set `path`
    /// (the C kernel `adamw_rmsprop_step`, the bits of ``applyReference(_:count:fused:)`` in the path's family).
    /// Any range gives the same bits for its elements as the whole array does.
    public func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath) {
        checkBuffers(streams)
        guard !range.isEmpty else { return }
        var scalars = adamw_rmsprop_scalars(
            lr: lr, alpha: alpha, one_minus_alpha: oneMinusAlpha, eps: eps, weight_decay: weightDecay,
            momentum: momentum, centered: centered ? 1 : 0, maximize: maximize ? 1 : 0)
        adamw_rmsprop_step(path.code, &scalars, streams.param, streams.grad, streams.squareAvg, streams.gradAvg,
                           streams.momentumBuffer, range.lowerBound, range.upperBound)
    }

    private func checkBuffers(_ streams: Streams) {
        precondition(!centered || streams.gradAvg != nil, "centered RMSprop needs its grad_avg buffer")
        precondition(momentum <= 0 || streams.momentumBuffer != nil, "RMSprop with momentum needs its buffer")
    }
}

extension RMSpropStep {
    /// The same step as ``apply(_:count:)``, one element at a time with scalar arithmetic and no threads: the
    /// reference the C kernel is tested against, bit for bit, with fused multiply-adds (`fused`, the FMA paths) or
    /// each product and sum rounded (SSE2, generic).
    public func applyReference(_ streams: Streams, count: Int, fused: Bool = true) {
        checkBuffers(streams)
        // c + a·b
        func madd(_ c: Float, _ a: Float, _ b: Float) -> Float { fused ? c.addingProduct(a, b) : c + a * b }
        for i in 0..<count {
            var g = streams.grad[i], theta = streams.param[i], squareAvg = streams.squareAvg[i]
            if maximize { g = -g }
            if weightDecay != 0 { g = madd(g, theta, weightDecay) }
            squareAvg = madd(squareAvg * alpha, g * oneMinusAlpha, g)
            var avg = squareAvg
            if centered, let gradAvgs = streams.gradAvg {
                let delta = g - gradAvgs[i]
                let gradAvg = oneMinusAlpha < 0.5
                    ? madd(gradAvgs[i], oneMinusAlpha, delta)
                    : madd(g, oneMinusAlpha - 1, delta)
                gradAvgs[i] = gradAvg
                avg = madd(squareAvg, -gradAvg, gradAvg)
            }
            avg = avg.squareRoot() + eps
            var direction = g / avg
            if momentum > 0, let buffer = streams.momentumBuffer {
                direction = madd(direction, buffer[i], momentum)
                buffer[i] = direction
            }
            theta = madd(theta, direction, -lr)
            streams.param[i] = theta
            streams.squareAvg[i] = squareAvg
        }
    }
}
