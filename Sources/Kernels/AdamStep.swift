import CKernels
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
///
/// (Toward a reference θ_ref, `Streams.decayReference`: θ ← (θ − θ_ref)·decayFactor + θ_ref, or g ← g + λ·(θ − θ_ref),
/// in a pass before the step's, `decay_reference.c`.)
///     m ← lerp(m, g, 1 − β1)                  PyTorch's lerp: m + w(g − m) for w < ½, else g − (1 − w)(g − m)
///     v ← β2·v + (1 − β2)·g²
///     v̂max ← max(v̂max, v)                    amsgrad (NaN propagates, as torch.maximum)
///     θ ← θ − stepSize · m / (√v̂ · 1/√(1 − β2ᵗ) + ε),   stepSize = lr / (1 − β1ᵗ)
///
/// A NaN or infinite gradient propagates into θ, m and v, as in PyTorch.
public struct AdamStep: Sendable {
    /// Multiplies θ before the moments (decoupled weight decay); 1 when there is none.
    public var decayFactor: Float
    /// Whether the step decays θ directly (AdamW), even by a factor that rounds to 1.
    public var decouplesDecay: Bool
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
        decouplesDecay = decoupledDecay != nil
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

    /// Applies the step to `count` elements, in parallel over ``ThreadPool/current`` for large counts.
    ///
    /// `maxExpAvgSq` must be non-nil when `amsgrad` is set. The result does not depend on the thread count.
    public func apply(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
        expAvg: UnsafeMutablePointer<Float>, expAvgSq: UnsafeMutablePointer<Float>,
        maxExpAvgSq: UnsafeMutablePointer<Float>?, count: Int, decayReference: UnsafePointer<Float>? = nil
    ) {
        precondition(!amsgrad || maxExpAvgSq != nil, "amsgrad needs its max buffer")
        apply(Streams(param: param, grad: grad, expAvg: expAvg, expAvgSq: expAvgSq, maxExpAvgSq: maxExpAvgSq,
                      decayReference: decayReference),
              count: count)
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
        /// θ_ref, the point the decay pulls toward (float32); nil: zero.
        public var decayReference: UnsafePointer<Float>?

        public init(
            param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, expAvg: UnsafeMutablePointer<Float>,
            expAvgSq: UnsafeMutablePointer<Float>, maxExpAvgSq: UnsafeMutablePointer<Float>? = nil,
            storage: StateStorage = .float32, expAvgScales: UnsafeMutablePointer<Float>? = nil,
            expAvgSqScales: UnsafeMutablePointer<Float>? = nil, maxExpAvgSqScales: UnsafeMutablePointer<Float>? = nil,
            decayReference: UnsafePointer<Float>? = nil
        ) {
            self.decayReference = decayReference
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

    /// Applies the step to the elements `range` of `streams` on the calling thread, on the instruction set `path`
    /// (float32 and bfloat16 moments: the C kernel `adamw_adam_step`, whose every path gives the bits of
    /// ``applyReference(param:grad:expAvg:expAvgSq:maxExpAvgSq:count:fused:)``, fused on the FMA paths). Any range
    /// gives the same bits for its elements as the whole array does: the result does not depend on how the work is
    /// split.
    public func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath) {
        precondition(!amsgrad || streams.maxExpAvgSq != nil, "amsgrad needs its max buffer")
        guard !range.isEmpty else { return }
        if let reference = streams.decayReference { return run(streams, range, path: path, toward: reference) }
        switch streams.storage {
        case .float32, .bfloat16:
            var scalars = adamw_adam_scalars(
                decay_factor: decayFactor, l2: l2, beta1_weight: beta1Weight, beta2: beta2, one_minus_beta2: oneMinusBeta2,
                inverse_bias_correction2_sqrt: inverseBiasCorrection2Sqrt, eps: eps, step_size: stepSize,
                maximize: maximize ? 1 : 0, amsgrad: amsgrad ? 1 : 0)
            adamw_adam_step(path.code, &scalars, streams.param, streams.grad, streams.expAvg, streams.expAvgSq,
                            streams.maxExpAvgSq, range.lowerBound, range.upperBound, streams.storage == .bfloat16 ? 1 : 0)
        case .int8, .int4: QuantizedAdamStep(self).run(streams, range, storage: streams.storage, path: path)
        }
    }

    /// The step with its decay toward `reference`: the decay is a pass of its own before the step, which then
    /// runs without any (so every storage's kernel takes it unchanged). Decoupled, the pass moves θ; coupled, it
    /// writes the gradient with λ·(θ − θ_ref) added into a stack buffer, a block at a time, so the caller's
    /// gradient is not written.
    private func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath, toward reference: UnsafePointer<Float>) {
        var step = self, streams = streams
        streams.decayReference = nil
        // A quantized step takes the blocks whose first element is in `range`, up to their ends: the pass must
        // cover exactly those elements (a thread's range may end inside a block that the next thread steps), and
        // pieces of whole blocks keep the stack buffer inside each piece.
        let range = streams.storage.ownedElements(of: range)
        guard !range.isEmpty else { return }
        if decouplesDecay {
            adamw_decay_toward(path.code, streams.param, reference, decayFactor, range.lowerBound, range.upperBound)
            (step.decayFactor, step.decouplesDecay, step.blockDecay) = (1, false, 0)
            step.run(streams, range, path: path)
        } else if l2 != 0 {
            (step.l2, step.maximize) = (0, false)
            inFloat32Pieces(of: range, unit: streams.storage.blockSize ?? 1) { begin, end, scratch in
                adamw_l2_toward(path.code, scratch, streams.grad, streams.param, reference, l2, maximize ? 1 : 0,
                                begin, end)
                var piece = streams
                piece.grad = UnsafePointer(scratch - begin)  // indexed from `begin`, as the caller's gradient
                step.run(piece, begin..<end, path: path)
            }
        } else {
            step.run(streams, range, path: path)  // λ = 0: no decay to move toward anything
        }
    }
}


extension AdamStep {
    /// The same step as ``apply(param:grad:expAvg:expAvgSq:maxExpAvgSq:count:)``, one element at a time with
    /// scalar arithmetic and no threads: the reference the C kernel is tested against, bit for bit — with fused
    /// multiply-adds (`fused`, the FMA paths) or with each product and sum rounded (SSE2, generic).
    public func applyReference(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
        expAvg: UnsafeMutablePointer<Float>, expAvgSq: UnsafeMutablePointer<Float>,
        maxExpAvgSq: UnsafeMutablePointer<Float>?, count: Int, fused: Bool = true,
        decayReference: UnsafePointer<Float>? = nil
    ) {
        // a·b + c
        func madd(_ a: Float, _ b: Float, _ c: Float) -> Float { fused ? c.addingProduct(a, b) : c + a * b }
        for i in 0..<count {
            var g = grad[i], theta = param[i], m = expAvg[i], v = expAvgSq[i]
            if maximize { g = -g }
            if let decayReference {
                let reference = decayReference[i]
                if decouplesDecay { theta = (theta - reference) * decayFactor + reference }
                if l2 != 0 { g = madd(theta - reference, l2, g) }
            } else {
                theta *= decayFactor
                if l2 != 0 { g = madd(theta, l2, g) }
            }
            let delta = g - m
            m = beta1Weight < 0.5 ? madd(beta1Weight, delta, m) : madd(beta1Weight - 1, delta, g)
            v = madd(g * oneMinusBeta2, g, v * beta2)
            var second = v
            if amsgrad, let maxExpAvgSq {
                let previous = maxExpAvgSq[i]
                second = v.isNaN ? v : (previous < v ? v : previous)
                maxExpAvgSq[i] = second
            }
            let denominator = madd(second.squareRoot(), inverseBiasCorrection2Sqrt, eps)
            theta = madd(-stepSize, m / denominator, theta)
            param[i] = theta
            expAvg[i] = m
            expAvgSq[i] = v
        }
    }
}
