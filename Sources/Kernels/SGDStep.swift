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
        let streams = Streams(param: param, grad: grad, momentumBuffer: momentumBuffer)
        let path = CPUPath.current
        ThreadPool.current.forEachChunk(count: count, minimumChunk: AdamStep.minimumChunk) { range in
            run(streams, range, path: path)
        }
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

    /// Applies the step to the elements `range` of `streams` on the calling thread. Any range gives the same bits
    /// for its elements as the whole array does: the result does not depend on how the work is split.
    public func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath) {
        if streams.momentumBuffer == nil {
            run(streams, range, withMomentum: false)
        } else {
            run(streams, range, withMomentum: true)
        }
    }

    typealias Vector = SIMD16<Float>

    // Same shape as AdamStep's loop: whole SIMD16 vectors only, the tail through zero-padded scratch memory.
    private func run(_ p: Streams, _ range: Range<Int>, withMomentum: Bool) {
        let width = Vector.scalarCount
        let whole = range.lowerBound + (range.count / width) * width
        runWholeVectors(p, range.lowerBound..<whole, withMomentum: withMomentum)
        guard whole < range.upperBound else { return }
        // Stream order in the scratch: g (read only), θ, b.
        withZeroPaddedTail(
            streams: (UnsafeMutablePointer(mutating: p.grad), p.param, p.momentumBuffer, nil, nil),
            readOnly: 1, offset: whole, lanes: range.upperBound - whole
        ) { s in
            guard let g = s.0, let theta = s.1 else { return }
            runWholeVectors(Streams(param: theta, grad: g, momentumBuffer: s.2), 0..<width, withMomentum: withMomentum)
        }
    }

    private func runWholeVectors(_ p: Streams, _ range: Range<Int>, withMomentum: Bool) {
        var i = range.lowerBound
        while i < range.upperBound {
            update(p, at: i, withMomentum: withMomentum)
            i += Vector.scalarCount
        }
    }

    @inline(__always)
    private func update(_ p: Streams, at i: Int, withMomentum: Bool) {
        var g = Vector.load(p.grad + i)
        var theta = Vector.load(p.param + i)
        if maximize { g *= -1 }  // a sign flip: −(+0) is −0, as in the scalar reference (0 − g is +0)
        if weightDecay != 0 { g = g.addingProduct(theta, Vector(repeating: weightDecay)) }
        if withMomentum, let bufferPointer = p.momentumBuffer {
            var b: Vector
            if initializesBuffer {
                b = g
            } else {
                b = Vector.load(bufferPointer + i)
                b = (b * momentum).addingProduct(g, Vector(repeating: oneMinusDampening))
            }
            b.store(to: bufferPointer + i)
            g = nesterov ? g.addingProduct(b, Vector(repeating: momentum)) : b
        }
        theta = theta.addingProduct(g, Vector(repeating: -lr))
        theta.store(to: p.param + i)
    }
}

extension SGDStep {
    /// The same step as ``apply(param:grad:momentumBuffer:count:)``, one element at a time with scalar arithmetic
    /// and no threads: the reference the fused kernel is tested against, bit for bit.
    public func applyReference(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
        momentumBuffer: UnsafeMutablePointer<Float>?, count: Int
    ) {
        for i in 0..<count {
            var g = grad[i], theta = param[i]
            if maximize { g = -g }
            if weightDecay != 0 { g = g.addingProduct(theta, weightDecay) }
            if let momentumBuffer {
                let b = initializesBuffer ? g : (momentumBuffer[i] * momentum).addingProduct(g, oneMinusDampening)
                momentumBuffer[i] = b
                g = nesterov ? g.addingProduct(b, momentum) : b
            }
            theta = theta.addingProduct(g, -lr)
            param[i] = theta
        }
    }
}
