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
        let pointers = Pointers(param: param, grad: grad, buffer: momentumBuffer)
        ThreadPool.current.forEachChunk(count: count, minimumChunk: AdamStep.minimumChunk) { range in
            if pointers.buffer == nil {
                run(pointers, range, withMomentum: false)
            } else {
                run(pointers, range, withMomentum: true)
            }
        }
    }

    struct Pointers: @unchecked Sendable {
        var param: UnsafeMutablePointer<Float>
        var grad: UnsafePointer<Float>
        var buffer: UnsafeMutablePointer<Float>?
    }

    typealias Vector = SIMD16<Float>

    // Same shape as AdamStep's loop: whole SIMD16 vectors only, the tail through zero-padded scratch memory.
    private func run(_ p: Pointers, _ range: Range<Int>, withMomentum: Bool) {
        let width = Vector.scalarCount
        let whole = range.lowerBound + (range.count / width) * width
        runWholeVectors(p, range.lowerBound..<whole, withMomentum: withMomentum)
        guard whole < range.upperBound else { return }
        // Stream order in the scratch: g (read only), θ, b.
        withZeroPaddedTail(
            streams: (UnsafeMutablePointer(mutating: p.grad), p.param, p.buffer, nil, nil),
            readOnly: 1, offset: whole, lanes: range.upperBound - whole
        ) { s in
            guard let g = s.0, let theta = s.1 else { return }
            runWholeVectors(Pointers(param: theta, grad: g, buffer: s.2), 0..<width, withMomentum: withMomentum)
        }
    }

    private func runWholeVectors(_ p: Pointers, _ range: Range<Int>, withMomentum: Bool) {
        var i = range.lowerBound
        while i < range.upperBound {
            update(p, at: i, withMomentum: withMomentum)
            i += Vector.scalarCount
        }
    }

    @inline(__always)
    private func update(_ p: Pointers, at i: Int, withMomentum: Bool) {
        var g = Vector.load(p.grad + i)
        var theta = Vector.load(p.param + i)
        if maximize { g = -g }
        if weightDecay != 0 { g = g.addingProduct(theta, Vector(repeating: weightDecay)) }
        if withMomentum, let bufferPointer = p.buffer {
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
