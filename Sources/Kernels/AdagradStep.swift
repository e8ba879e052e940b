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

    /// Applies the step to `count` elements, in parallel over ``ThreadPool/current`` for large counts.
    /// The result does not depend on the thread count.
    public func apply(_ streams: Streams, count: Int) {
        let path = CPUPath.current
        ThreadPool.current.forEachChunk(count: count, minimumChunk: AdamStep.minimumChunk) { range in
            run(streams, range, path: path)
        }
    }

    /// Applies the step to the elements `range` of `streams` on the calling thread. Any range gives the same bits
    /// for its elements as the whole array does: the result does not depend on how the work is split.
    public func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath) {
        // Two specialisations: weight decay becomes a constant, so the loop body has no branch on it.
        if weightDecay != 0 {
            run(streams, range, decay: True.self)
        } else {
            run(streams, range, decay: False.self)
        }
    }

    typealias Vector = SIMD16<Float>

    // SIMD16 + FMA, as AdamStep: one vsqrtps and one vdivps per 16 elements, so the loop is bound by memory
    // bandwidth; the tail runs as a whole zero-padded vector, so it is bitwise what the vector lanes compute.
    private func run<Decay: StaticBool>(_ p: Streams, _ range: Range<Int>, decay: Decay.Type) {
        let width = Vector.scalarCount
        let whole = range.lowerBound + (range.count / width) * width
        runWholeVectors(p, range.lowerBound..<whole, decay: decay)
        guard whole < range.upperBound else { return }
        // Stream order in the scratch: g (read only), θ, Σ.
        withZeroPaddedTail(
            streams: (UnsafeMutablePointer(mutating: p.grad), p.param, p.sum, nil, nil),
            readOnly: 1, offset: whole, lanes: range.upperBound - whole
        ) { s in
            guard let g = s.0, let theta = s.1, let sum = s.2 else { return }
            runWholeVectors(Streams(param: theta, grad: g, sum: sum), 0..<width, decay: decay)
        }
    }

    private func runWholeVectors<Decay: StaticBool>(_ p: Streams, _ range: Range<Int>, decay: Decay.Type) {
        var i = range.lowerBound
        while i < range.upperBound {
            update(p, at: i, decay: Decay.value)
            i += Vector.scalarCount
        }
    }

    @inline(__always)
    private func update(_ p: Streams, at i: Int, decay: Bool) {
        var g = Vector.load(p.grad + i)
        var theta = Vector.load(p.param + i)
        var sum = Vector.load(p.sum + i)
        if maximize { g *= -1 } // not SIMD's prefix minus, 0 − g: that keeps +0 where Float's −g gives −0
        if decay { g = g.addingProduct(theta, Vector(repeating: weightDecay)) }
        sum = sum.addingProduct(g, g)
        let std = sum.squareRoot() + eps
        theta = theta.addingProduct(g / std, Vector(repeating: -clr))
        theta.store(to: p.param + i)
        sum.store(to: p.sum + i)
    }
}

extension AdagradStep {
    /// The same step as ``apply(_:count:)``, one element at a time with scalar arithmetic and no threads: the
    /// reference the fused kernel is tested against, bit for bit.
    public func applyReference(_ streams: Streams, count: Int) {
        for i in 0..<count {
            var g = streams.grad[i], theta = streams.param[i], sum = streams.sum[i]
            if maximize { g = -g }
            if weightDecay != 0 { g = g.addingProduct(theta, weightDecay) }
            sum = sum.addingProduct(g, g)
            let std = sum.squareRoot() + eps
            theta = theta.addingProduct(g / std, -clr)
            streams.param[i] = theta
            streams.sum[i] = sum
        }
    }
}
