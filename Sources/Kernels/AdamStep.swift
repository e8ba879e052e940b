#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-element update of Adam and AdamW, fused into one pass over memory.
///
/// One step reads θ, g, m, v (and v̂max with amsgrad) and writes θ, m, v: 28 bytes a parameter in fp32, so the
/// loop is bound by memory bandwidth once it is vectorized. It follows the order of PyTorch's single-tensor
/// `adam`/`adamw`, with fused multiply-adds where PyTorch rounds twice (so results agree to rounding, within the
/// reference tolerance, not bit for bit):
///
///     g ← −g                                  if maximize
///     θ ← θ · decayFactor                     decoupled decay (AdamW), decayFactor = 1 − lr·λ
///     g ← g + λ·θ                             coupled L2 (Adam)
///     m ← lerp(m, g, 1 − β1)                  PyTorch's lerp: m + w(g − m) for w < ½, else g − (1 − w)(g − m)
///     v ← β2·v + (1 − β2)·g²
///     v̂max ← max(v̂max, v)                    amsgrad (NaN propagates, as torch.maximum)
///     θ ← θ − stepSize · m / (√v̂ · 1/√(1 − β2ᵗ) + ε),   stepSize = lr / (1 − β1ᵗ)
///
/// A NaN or infinite gradient propagates into θ, m and v, as in PyTorch.
public struct AdamStep: Sendable {
    /// Multiplies θ before the moments (decoupled weight decay); 1 when there is none.
    public var decayFactor: Float
    /// Added as `l2 · θ` to the gradient (coupled L2); 0 when there is none.
    public var l2: Float
    /// The lerp weight 1 − β1.
    public var beta1Weight: Float
    public var beta2: Float
    public var oneMinusBeta2: Float
    /// 1 / √(1 − β2ᵗ), computed in Double.
    public var inverseBiasCorrection2Sqrt: Float
    public var eps: Float
    /// lr / (1 − β1ᵗ), computed in Double.
    public var stepSize: Float
    public var maximize: Bool
    public var amsgrad: Bool
    /// The scalars of the block-quantized path, in float32 as torchao computes them: lr·λ (AdamW's decay term),
    /// lr, 1 − β1ᵗ and √(1 − β2ᵗ) with t, β1 and β2 as float32.
    public var blockDecay: Float
    public var blockLR: Float
    public var blockBiasCorrection1: Float
    public var blockBiasCorrection2Sqrt: Float

    /// The scalars of step `step` (1-based), computed in Double from the hyperparameters as PyTorch does.
    ///
    /// - Parameters:
    ///   - decoupledDecay: the factor 1 − lr·λ (or its schedule-scaled variant) for AdamW, nil for none.
    ///   - l2: λ for Adam's coupled L2, 0 for none.
    public init(
        lr: Double, beta1: Double, beta2: Double, eps: Double, step: Int,
        decoupledDecay: Double?, l2: Double, amsgrad: Bool, maximize: Bool
    ) {
        let biasCorrection1 = 1 - power(beta1, Double(step))
        let biasCorrection2 = 1 - power(beta2, Double(step))
        decayFactor = Float(decoupledDecay ?? 1)
        self.l2 = Float(l2)
        beta1Weight = Float(1 - beta1)
        self.beta2 = Float(beta2)
        oneMinusBeta2 = Float(1 - beta2)
        inverseBiasCorrection2Sqrt = Float(1 / biasCorrection2.squareRoot())
        self.eps = Float(eps)
        stepSize = Float(lr / biasCorrection1)
        self.maximize = maximize
        self.amsgrad = amsgrad
        blockDecay = Float(1 - (decoupledDecay ?? 1))
        blockLR = Float(lr)
        let t = Float(step)
        blockBiasCorrection1 = 1 - powf(Float(beta1), t)
        blockBiasCorrection2Sqrt = (1 - powf(Float(beta2), t)).squareRoot()
    }

    /// Elements per thread below which a step runs on one thread: waking a worker costs more than it saves.
    public static let minimumChunk = 1 << 15

    /// Applies the step to `count` elements, in parallel over ``ThreadPool/current`` for large counts.
    ///
    /// `maxExpAvgSq` must be non-nil when `amsgrad` is set. The result does not depend on the thread count.
    public func apply(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
        expAvg: UnsafeMutablePointer<Float>, expAvgSq: UnsafeMutablePointer<Float>,
        maxExpAvgSq: UnsafeMutablePointer<Float>?, count: Int
    ) {
        precondition(!amsgrad || maxExpAvgSq != nil, "amsgrad needs its max buffer")
        let streams = Streams(param: param, grad: grad, expAvg: expAvg, expAvgSq: expAvgSq, maxExpAvgSq: maxExpAvgSq)
        ThreadPool.current.forEachChunk(count: count, minimumChunk: Self.minimumChunk) { range in
            run(streams, range)
        }
    }

    /// The memory a step reads and writes: θ, g, m, v, and v̂max (needed with amsgrad only). With a `storage` other
    /// than float32 the moment pointers point at that storage's memory (bfloat16 values, or codes), and quantized
    /// storage has a float32 scale per block for each moment.
    public struct Streams: @unchecked Sendable {
        public var param: UnsafeMutablePointer<Float>
        public var grad: UnsafePointer<Float>
        public var expAvg: UnsafeMutablePointer<Float>
        public var expAvgSq: UnsafeMutablePointer<Float>
        public var maxExpAvgSq: UnsafeMutablePointer<Float>?
        public var storage: StateStorage
        public var expAvgScales: UnsafeMutablePointer<Float>?
        public var expAvgSqScales: UnsafeMutablePointer<Float>?
        public var maxExpAvgSqScales: UnsafeMutablePointer<Float>?

        public init(
            param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, expAvg: UnsafeMutablePointer<Float>,
            expAvgSq: UnsafeMutablePointer<Float>, maxExpAvgSq: UnsafeMutablePointer<Float>? = nil,
            storage: StateStorage = .float32, expAvgScales: UnsafeMutablePointer<Float>? = nil,
            expAvgSqScales: UnsafeMutablePointer<Float>? = nil, maxExpAvgSqScales: UnsafeMutablePointer<Float>? = nil
        ) {
            self.param = param
            self.grad = grad
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
            self.maxExpAvgSq = maxExpAvgSq
            self.storage = storage
            self.expAvgScales = expAvgScales
            self.expAvgSqScales = expAvgSqScales
            self.maxExpAvgSqScales = maxExpAvgSqScales
        }
    }

    /// Applies the step to the elements `range` of `streams` on the calling thread. Any range gives the same bits
    /// for its elements as the whole array does: the result does not depend on how the work is split.
    public func run(_ streams: Streams, _ range: Range<Int>) {
        precondition(!amsgrad || streams.maxExpAvgSq != nil, "amsgrad needs its max buffer")
        switch streams.storage {
        case .float32: run(streams, range, moments: Float32Moments.self)
        case .bfloat16: run(streams, range, moments: BFloat16Moments.self)
        case .int8, .int4: QuantizedAdamStep(self).run(streams, range, storage: streams.storage)
        }
    }

    private func run<M: MomentStorage>(_ streams: Streams, _ range: Range<Int>, moments: M.Type) {
        // Four specialisations: the flags become constants, so the loop body has no branches on them.
        switch (amsgrad, l2 != 0) {
        case (false, false): run(streams, range, Variant<False, False, M>.self)
        case (false, true): run(streams, range, Variant<False, True, M>.self)
        case (true, false): run(streams, range, Variant<True, False, M>.self)
        case (true, true): run(streams, range, Variant<True, True, M>.self)
        }
    }

    typealias Vector = SIMD16<Float>

    // SIMD16 over raw pointers and FMA through `addingProduct`: with -fno-math-errno and a native target the body
    // is one vsqrtps, one vdivps and a few vfmadds per 16 elements, and the loop saturates memory bandwidth (see
    // `adamw bench optimizer`). The body only ever sees whole vectors (a tail goes through zero-padded scratch
    // memory), which keeps LLVM from splitting the vectors; so the tail is bitwise what the vector lanes compute.
    private func run<V: AdamVariant>(_ p: Streams, _ range: Range<Int>, _ variant: V.Type) {
        let width = Vector.scalarCount
        let whole = range.lowerBound + (range.count / width) * width
        runWholeVectors(p, range.lowerBound..<whole, variant)
        guard whole < range.upperBound else { return }
        let lanes = range.upperBound - whole, bytes = V.Moments.bytesPerElement
        // The tail runs the same vector code on zero-padded scratch (each stream's lanes copied in, then the
        // written ones back), so its elements get the bits the vector lanes would have given them.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 5 * width) { scratch in
            guard let base = scratch.baseAddress else { return }
            base.initialize(repeating: 0, count: 5 * width)
            let g = base, theta = base + width, m = base + 2 * width, v = base + 3 * width
            let maximum = p.maxExpAvgSq.map { _ in base + 4 * width }
            func copy(_ from: UnsafeRawPointer, _ to: UnsafeMutableRawPointer, _ count: Int) {
                to.copyMemory(from: from, byteCount: count)
            }
            copy(p.grad + whole, g, 4 * lanes)
            copy(p.param + whole, theta, 4 * lanes)
            copy(UnsafeRawPointer(p.expAvg) + whole * bytes, m, bytes * lanes)
            copy(UnsafeRawPointer(p.expAvgSq) + whole * bytes, v, bytes * lanes)
            if let stored = p.maxExpAvgSq, let maximum { copy(UnsafeRawPointer(stored) + whole * bytes, maximum, bytes * lanes) }
            runWholeVectors(Streams(param: theta, grad: g, expAvg: m, expAvgSq: v, maxExpAvgSq: maximum), 0..<width, variant)
            copy(theta, p.param + whole, 4 * lanes)
            copy(m, UnsafeMutableRawPointer(p.expAvg) + whole * bytes, bytes * lanes)
            copy(v, UnsafeMutableRawPointer(p.expAvgSq) + whole * bytes, bytes * lanes)
            if let stored = p.maxExpAvgSq, let maximum { copy(maximum, UnsafeMutableRawPointer(stored) + whole * bytes, bytes * lanes) }
        }
    }

    private func runWholeVectors<V: AdamVariant>(_ p: Streams, _ range: Range<Int>, _ variant: V.Type) {
        var i = range.lowerBound
        while i < range.upperBound {
            update(p, at: i, amsgrad: V.amsgrad, coupled: V.coupled, moments: V.Moments.self)
            i += Vector.scalarCount
        }
    }

    @inline(__always)
    private func update<M: MomentStorage>(_ p: Streams, at i: Int, amsgrad: Bool, coupled: Bool, moments: M.Type) {
        var g = Vector.load(p.grad + i)
        var theta = Vector.load(p.param + i)
        var m = M.load(p.expAvg, at: i)
        var v = M.load(p.expAvgSq, at: i)
        if maximize { g *= -1 }  // a sign flip: −(+0) is −0, as in the scalar reference (0 − g is +0)
        theta *= decayFactor
        if coupled { g = g.addingProduct(theta, Vector(repeating: l2)) }
        let delta = g - m
        m = beta1Weight < 0.5
            ? m.addingProduct(Vector(repeating: beta1Weight), delta)
            : g.addingProduct(Vector(repeating: beta1Weight - 1), delta)
        v = (v * beta2).addingProduct(g * oneMinusBeta2, g)
        var second = v
        if amsgrad, let maxPointer = p.maxExpAvgSq {
            second = M.load(maxPointer, at: i).nanPropagatingMax(v)
            // The maximum is kept as stored (for bfloat16, rounded), and the step uses that stored value.
            M.store(&second, to: maxPointer, at: i)
        }
        // bfloat16 moments are rounded when stored and the step uses the rounded values, so that a resumed run
        // (which reads them back) takes the same step.
        M.store(&m, to: p.expAvg, at: i)
        M.store(&v, to: p.expAvgSq, at: i)
        if !amsgrad { second = v }
        let denominator = Vector(repeating: eps).addingProduct(
            second.squareRoot(), Vector(repeating: inverseBiasCorrection2Sqrt))
        theta = theta.addingProduct(Vector(repeating: -stepSize), m / denominator)
        theta.store(to: p.param + i)
    }
}

/// Compile-time flags of an ``AdamStep`` loop, and how its moments are stored.
protocol AdamVariant {
    associatedtype Amsgrad: StaticBool
    associatedtype Coupled: StaticBool
    associatedtype Moments: MomentStorage
    static var amsgrad: Bool { get }
    static var coupled: Bool { get }
}

protocol StaticBool { static var value: Bool { get } }
enum True: StaticBool { static var value: Bool { true } }
enum False: StaticBool { static var value: Bool { false } }

enum Variant<Amsgrad: StaticBool, Coupled: StaticBool, Moments: MomentStorage>: AdamVariant {
    static var amsgrad: Bool { Amsgrad.value }
    static var coupled: Bool { Coupled.value }
}

/// How an elementwise kernel reads and writes a moment buffer: float32 as it is, or bfloat16 (stored rounded to
/// nearest even, and the rounded value handed back, so the step uses what is stored).
protocol MomentStorage {
    static func load(_ base: UnsafeMutablePointer<Float>, at i: Int) -> SIMD16<Float>
    static func store(_ value: inout SIMD16<Float>, to base: UnsafeMutablePointer<Float>, at i: Int)
    static var bytesPerElement: Int { get }
}

enum Float32Moments: MomentStorage {
    @inline(__always) static func load(_ base: UnsafeMutablePointer<Float>, at i: Int) -> SIMD16<Float> {
        SIMD16<Float>.load(base + i)
    }
    @inline(__always) static func store(_ value: inout SIMD16<Float>, to base: UnsafeMutablePointer<Float>, at i: Int) {
        value.store(to: base + i)
    }
    static var bytesPerElement: Int { 4 }
}

enum BFloat16Moments: MomentStorage {
    @inline(__always) static func halves(_ base: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(base).assumingMemoryBound(to: UInt16.self)
    }
    @inline(__always) static func load(_ base: UnsafeMutablePointer<Float>, at i: Int) -> SIMD16<Float> {
        BFloat16.load(halves(base) + i)
    }
    @inline(__always) static func store(_ value: inout SIMD16<Float>, to base: UnsafeMutablePointer<Float>, at i: Int) {
        value = BFloat16.store(value, to: halves(base) + i)
    }
    static var bytesPerElement: Int { 2 }
}

extension AdamStep {
    /// The same step as ``apply(param:grad:expAvg:expAvgSq:maxExpAvgSq:count:)``, one element at a time with
    /// scalar arithmetic and no threads: the reference the fused kernel is tested against, bit for bit.
    public func applyReference(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
        expAvg: UnsafeMutablePointer<Float>, expAvgSq: UnsafeMutablePointer<Float>,
        maxExpAvgSq: UnsafeMutablePointer<Float>?, count: Int
    ) {
        for i in 0..<count {
            var g = grad[i], theta = param[i], m = expAvg[i], v = expAvgSq[i]
            if maximize { g = -g }
            theta *= decayFactor
            if l2 != 0 { g = g.addingProduct(theta, l2) }
            let delta = g - m
            m = beta1Weight < 0.5 ? m.addingProduct(beta1Weight, delta) : g.addingProduct(beta1Weight - 1, delta)
            v = (v * beta2).addingProduct(g * oneMinusBeta2, g)
            var second = v
            if amsgrad, let maxExpAvgSq {
                let previous = maxExpAvgSq[i]
                second = v.isNaN ? v : (previous < v ? v : previous)
                maxExpAvgSq[i] = second
            }
            let denominator = eps.addingProduct(second.squareRoot(), inverseBiasCorrection2Sqrt)
            theta = theta.addingProduct(-stepSize, m / denominator)
            param[i] = theta
            expAvg[i] = m
            expAvgSq[i] = v
        }
    }
}
