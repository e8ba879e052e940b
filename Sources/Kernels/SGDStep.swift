import CKernels

/// The per-element update of SGD with momentum, fused into one pass over memory.
///
/// It follows PyTorch's single-tensor `sgd` operation by operation:
///
///     g ← −g                                   if maximize
///     g ← g + λ·θ                              if weightDecay ≠ 0
///     b ← g                                    first step with momentum (the buffer is created)
///     b ← μ·b + (1 − dampening)·g              later steps
///     g ← g + μ·b  (nesterov)   or   g ← b     with momentum
///     θ ← θ − lr·g
public struct SGDStep: Sendable {
    public var lr: Float
    public var momentum: Float
    /// 1 − dampening, computed in Double.
    public var oneMinusDampening: Float
    public var weightDecay: Float
    public var nesterov: Bool
    public var maximize: Bool
    /// Whether this step creates the momentum buffer (PyTorch clones the gradient into it).
    public var initializesBuffer: Bool

    public init(
        lr: Double, momentum: Double, dampening: Double, weightDecay: Double,
        nesterov: Bool, maximize: Bool, initializesBuffer: Bool
    ) {
        self.lr = Float(lr)
        self.momentum = Float(momentum)
        oneMinusDampening = Float(1 - dampening)
        self.weightDecay = Float(weightDecay)
        self.nesterov = nesterov
        self.maximize = maximize
        self.initializesBuffer = initializesBuffer
    }

    /// Applies the step to `count` elements, in parallel over ``ThreadPool/current`` for large counts.
    /// `momentumBuffer` is nil when momentum is 0. The result does not depend on the thread count.
    public func apply(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
        momentumBuffer: UnsafeMutablePointer<Float>?, count: Int
    ) {
        apply(Streams(param: param, grad: grad, momentumBuffer: momentumBuffer), count: count)
    }

    /// The memory a step reads and writes: θ, g, and the momentum buffer (nil when momentum is 0).
    public struct Streams: @unchecked Sendable {
        public var param: UnsafeMutablePointer<Float>
        public var grad: UnsafePointer<Float>
        public var momentumBuffer: UnsafeMutablePointer<Float>?

        public init(
            param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
            momentumBuffer: UnsafeMutablePointer<Float>? = nil
        ) {
            self.param = param
            self.grad = grad
            self.momentumBuffer = momentumBuffer
        }
    }

    /// Applies the step to the elements `range` of `streams` on the calling thread, on the instruction set `path`
    /// (the C kernel `adamw_sgd_step`, the bits of ``applyReference(param:grad:momentumBuffer:count:fused:)`` in
    /// the path's family). Any range gives the same bits for its elements as the whole array does.
    public func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath) {
        guard !range.isEmpty else { return }
        var scalars = adamw_sgd_scalars(
            lr: lr, momentum: momentum, one_minus_dampening: oneMinusDampening, weight_decay: weightDecay,
            nesterov: nesterov ? 1 : 0, maximize: maximize ? 1 : 0, initializes_buffer: initializesBuffer ? 1 : 0)
        adamw_sgd_step(path.code, &scalars, streams.param, streams.grad, streams.momentumBuffer, range.lowerBound,
                       range.upperBound)
    }
}

extension SGDStep {
    /// The same step as ``apply(param:grad:momentumBuffer:count:)``, one element at a time with scalar arithmetic
    /// and no threads: the reference the C kernel is tested against, bit for bit, with fused multiply-adds
    /// (`fused`, the FMA paths) or each product and sum rounded (SSE2, generic).
    public func applyReference(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
        momentumBuffer: UnsafeMutablePointer<Float>?, count: Int, fused: Bool = true
    ) {
        // c + a·b
        func madd(_ c: Float, _ a: Float, _ b: Float) -> Float { fused ? c.addingProduct(a, b) : c + a * b }
        for i in 0..<count {
            var g = grad[i], theta = param[i]
            if maximize { g = -g }
            if weightDecay != 0 { g = madd(g, theta, weightDecay) }
            if let momentumBuffer {
                let b = initializesBuffer ? g : madd(momentumBuffer[i] * momentum, g, oneMinusDampening)
                momentumBuffer[i] = b
                g = nesterov ? madd(g, b, momentum) : b
            }
            theta = madd(theta, g, -lr)
            param[i] = theta
        }
    }
}
