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
        checkBuffers(streams)
        // Eight specialisations: the flags become constants, so the loop body has no branches on them.
        switch (centered, momentum > 0, weightDecay != 0) {
        case (false, false, false): run(streams, range, RMSpropFlags<False, False, False>.self)
        case (false, false, true): run(streams, range, RMSpropFlags<False, False, True>.self)
        case (false, true, false): run(streams, range, RMSpropFlags<False, True, False>.self)
        case (false, true, true): run(streams, range, RMSpropFlags<False, True, True>.self)
        case (true, false, false): run(streams, range, RMSpropFlags<True, False, False>.self)
        case (true, false, true): run(streams, range, RMSpropFlags<True, False, True>.self)
        case (true, true, false): run(streams, range, RMSpropFlags<True, True, False>.self)
        case (true, true, true): run(streams, range, RMSpropFlags<True, True, True>.self)
        }
    }

    private func checkBuffers(_ streams: Streams) {
        precondition(!centered || streams.gradAvg != nil, "centered RMSprop needs its grad_avg buffer")
        precondition(momentum <= 0 || streams.momentumBuffer != nil, "RMSprop with momentum needs its buffer")
    }

    typealias Vector = SIMD16<Float>

    // SIMD16 + FMA, as AdamStep: one vsqrtps and one vdivps per 16 elements, so the loop is bound by memory
    // bandwidth; the tail runs as a whole zero-padded vector, so it is bitwise what the vector lanes compute.
    private func run<V: RMSpropVariant>(_ p: Streams, _ range: Range<Int>, _ variant: V.Type) {
        let width = Vector.scalarCount
        let whole = range.lowerBound + (range.count / width) * width
        runWholeVectors(p, range.lowerBound..<whole, variant)
        guard whole < range.upperBound else { return }
        // Stream order in the scratch: g (read only), θ, s, ḡ, b.
        withZeroPaddedTail(
            streams: (UnsafeMutablePointer(mutating: p.grad), p.param, p.squareAvg, p.gradAvg, p.momentumBuffer),
            readOnly: 1, offset: whole, lanes: range.upperBound - whole
        ) { s in
            guard let g = s.0, let theta = s.1, let squareAvg = s.2 else { return }
            let scratch = Streams(param: theta, grad: g, squareAvg: squareAvg, gradAvg: s.3, momentumBuffer: s.4)
            runWholeVectors(scratch, 0..<width, variant)
        }
    }

    private func runWholeVectors<V: RMSpropVariant>(_ p: Streams, _ range: Range<Int>, _ variant: V.Type) {
        var i = range.lowerBound
        while i < range.upperBound {
            update(p, at: i, centered: V.centered, withMomentum: V.momentum, decay: V.decay)
            i += Vector.scalarCount
        }
    }

    @inline(__always)
    private func update(_ p: Streams, at i: Int, centered: Bool, withMomentum: Bool, decay: Bool) {
        var g = Vector.load(p.grad + i)
        var theta = Vector.load(p.param + i)
        var squareAvg = Vector.load(p.squareAvg + i)
        if maximize { g *= -1 } // not SIMD's prefix minus, 0 − g: that keeps +0 where Float's −g gives −0
        if decay { g = g.addingProduct(theta, Vector(repeating: weightDecay)) }
        squareAvg = (squareAvg * alpha).addingProduct(g * oneMinusAlpha, g)
        var avg = squareAvg
        if centered, let gradAvgPointer = p.gradAvg {
            var gradAvg = Vector.load(gradAvgPointer + i)
            let delta = g - gradAvg
            gradAvg = oneMinusAlpha < 0.5
                ? gradAvg.addingProduct(Vector(repeating: oneMinusAlpha), delta)
                : g.addingProduct(Vector(repeating: oneMinusAlpha - 1), delta)
            gradAvg.store(to: gradAvgPointer + i)
            avg = squareAvg.addingProduct(-gradAvg, gradAvg)
        }
        avg = avg.squareRoot() + eps
        var direction = g / avg
        if withMomentum, let bufferPointer = p.momentumBuffer {
            direction = direction.addingProduct(Vector.load(bufferPointer + i), Vector(repeating: momentum))
            direction.store(to: bufferPointer + i)
        }
        theta = theta.addingProduct(direction, Vector(repeating: -lr))
        theta.store(to: p.param + i)
        squareAvg.store(to: p.squareAvg + i)
    }
}

/// Compile-time flags of an ``RMSpropStep`` loop.
protocol RMSpropVariant {
    static var centered: Bool { get }
    static var momentum: Bool { get }
    static var decay: Bool { get }
}

enum RMSpropFlags<Centered: StaticBool, Momentum: StaticBool, Decay: StaticBool>: RMSpropVariant {
    static var centered: Bool { Centered.value }
    static var momentum: Bool { Momentum.value }
    static var decay: Bool { Decay.value }
}

extension RMSpropStep {
    /// The same step as ``apply(_:count:)``, one element at a time with scalar arithmetic and no threads: the
    /// reference the fused kernel is tested against, bit for bit.
    public func applyReference(_ streams: Streams, count: Int) {
        checkBuffers(streams)
        for i in 0..<count {
            var g = streams.grad[i], theta = streams.param[i], squareAvg = streams.squareAvg[i]
            if maximize { g = -g }
            if weightDecay != 0 { g = g.addingProduct(theta, weightDecay) }
            squareAvg = (squareAvg * alpha).addingProduct(g * oneMinusAlpha, g)
            var avg = squareAvg
            if centered, let gradAvgs = streams.gradAvg {
                let delta = g - gradAvgs[i]
                let gradAvg = oneMinusAlpha < 0.5
                    ? gradAvgs[i].addingProduct(oneMinusAlpha, delta)
                    : g.addingProduct(oneMinusAlpha - 1, delta)
                gradAvgs[i] = gradAvg
                avg = squareAvg.addingProduct(-gradAvg, gradAvg)
            }
            avg = avg.squareRoot() + eps
            var direction = g / avg
            if momentum > 0, let buffer = streams.momentumBuffer {
                direction = direction.addingProduct(buffer[i], momentum)
                buffer[i] = direction
            }
            theta = theta.addingProduct(direction, -lr)
            streams.param[i] = theta
            streams.squareAvg[i] = squareAvg
        }
    }
}
