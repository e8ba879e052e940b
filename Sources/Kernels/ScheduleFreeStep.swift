import CKernels

/// The per-element update of Schedule-Free AdamW (Defazio et al., 2024), fused into one pass over memory.
///
/// The parameter holds y, the point where gradients are taken; z is the base sequence and v the second moment.
/// It follows `schedulefree.AdamWScheduleFree`'s single-tensor step operation by operation, with fused
/// multiply-adds where PyTorch may round twice (so results agree to rounding, within the reference tolerance):
///
///     z ← y                                      the step that creates the state (z starts as a copy of y)
///     v ← β2·v + (1 − β2)·g²                     exp_avg_sq
///     ĝ ← g / (√(v / (1 − β2ᵏ)) + ε)
///     ĝ ← ĝ + λ·y                                if weightDecay ≠ 0 (decay at y)
///     y ← lerp(y, z, c)                          c = ckp1, the weight of this step in the average
///     y ← y + lr·(β1·(1 − c) − 1)·ĝ
///     z ← z − lr·ĝ
///
/// One step reads y, g, z, v and writes y, z, v: 28 bytes a parameter, as AdamW's. A NaN or infinite gradient
/// propagates, as in PyTorch.
///
/// v may be stored in bfloat16, or in torchao's 8- or 4-bit block-quantized storage (z, a copy of the weights,
/// stays float32): a few blocks at a time are decoded into float32 on the stack, stepped by the same kernel, and
/// encoded again as the Adam step encodes its moments (each block's scale its largest magnitude).
public struct ScheduleFreeStep: Sendable {
    /// The warmed-up learning rate of this step.
    public var lr: Float
    /// lr·(β1·(1 − c) − 1), computed in Double: the step y takes along ĝ.
    public var yLR: Float
    /// c: the weight that moves y toward z.
    public var ckp1: Float
    public var beta2: Float
    /// 1 − β2, computed in Double.
    public var oneMinusBeta2: Float
    /// 1 − β2ᵏ, computed in Double.
    public var biasCorrection2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Whether this step creates the state: z starts as a copy of y.
    public var fresh: Bool

    /// The step from the Double scalars of the group's counters.
    public init(
        lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double, ckp1: Double,
        biasCorrection2: Double, fresh: Bool
    ) {
        self.lr = Float(lr)
        yLR = Float(lr * (beta1 * (1 - ckp1) - 1))
        self.ckp1 = Float(ckp1)
        self.beta2 = Float(beta2)
        oneMinusBeta2 = Float(1 - beta2)
        self.biasCorrection2 = Float(biasCorrection2)
        self.eps = Float(eps)
        self.weightDecay = Float(weightDecay)
        self.fresh = fresh
    }

    /// The memory a step reads and writes.
    public struct Streams: @unchecked Sendable {
        /// y.
        public var param: UnsafeMutablePointer<Float>
        public var grad: UnsafePointer<Float>
        public var z: UnsafeMutablePointer<Float>
        /// v's memory: its values, or in another ``storage`` its bfloat16 values or codes.
        public var expAvgSq: UnsafeMutablePointer<Float>
        /// How v is stored.
        public var storage: StateStorage
        /// v's block scales (quantized storage).
        public var expAvgSqScales: UnsafeMutablePointer<Float>?

        public init(
            param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
            expAvgSq: UnsafeMutablePointer<Float>, storage: StateStorage = .float32,
            expAvgSqScales: UnsafeMutablePointer<Float>? = nil
        ) {
            self.param = param
            self.grad = grad
            self.z = z
            self.expAvgSq = expAvgSq
            self.storage = storage
            self.expAvgSqScales = expAvgSqScales
        }
    }

    /// Applies the step to the elements `range` of `streams` on the calling thread, on the instruction set `path`
    /// (the C kernel `adamw_schedule_free_step`, the bits of ``applyReference(_:count:fused:)`` in the path's
    /// family). Any range gives the same bits for its elements as the whole array does.
    public func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath) {
        guard !range.isEmpty else { return }
        var scalars = adamw_schedule_free_scalars(
            lr: lr, y_lr: yLR, ckp1: ckp1, beta2: beta2, one_minus_beta2: oneMinusBeta2,
            bias_correction2: biasCorrection2, eps: eps, weight_decay: weightDecay, fresh: fresh ? 1 : 0)
        switch streams.storage {
        case .float32:
            adamw_schedule_free_step(path.code, &scalars, streams.param, streams.grad, streams.z, streams.expAvgSq,
                                     range.lowerBound, range.upperBound)
        case .bfloat16:
            let halves = UnsafeMutableRawPointer(streams.expAvgSq).assumingMemoryBound(to: UInt16.self)
            inFloat32Pieces(of: range, unit: 1) { begin, end, scratch in
                adamw_bf16_decode(path.code, halves, scratch, begin, end)
                adamw_schedule_free_step(path.code, &scalars, streams.param, streams.grad, streams.z, scratch - begin,
                                         begin, end)
                adamw_bf16_encode(path.code, scratch, halves, begin, end)
            }
        case .int8, .int4:
            guard let map = streams.storage.unsignedMap, let scales = streams.expAvgSqScales else { return }
            let codes = UnsafeMutableRawPointer(streams.expAvgSq).assumingMemoryBound(to: UInt8.self)
            var codeMap = QuantizedAdamStep.codeMap(map)
            let linear: Int32 = map.bits == 4 ? 1 : 0  // torchao's 4-bit v is the linear map
            let block = map.blockSize, owned = streams.storage.ownedElements(of: range)
            inFloat32Pieces(of: owned, unit: block) { begin, end, scratch in
                adamw_quantized_decode(path.code, codes, scales, &codeMap, linear, begin / block, end / block, scratch)
                adamw_schedule_free_step(path.code, &scalars, streams.param, streams.grad, streams.z, scratch - begin,
                                         begin, end)
                adamw_quantized_encode(path.code, scratch, codes, scales, &codeMap, linear, begin / block, end / block)
            }
        }
    }

    /// values ← lerp(values, end, weight) over `count` elements, as PyTorch's `lerp_` with a scalar weight: how
    /// Schedule-Free's `eval()` and `train()` move a parameter between y and x. In parallel for large counts.
    public static func interpolate(
        _ values: UnsafeMutablePointer<Float>, toward end: UnsafePointer<Float>, weight: Float, count: Int
    ) {
        let path = CPUPath.current
        nonisolated(unsafe) let values = values
        ThreadPool.current.forEachChunk(count: count, minimumChunk: ThreadPool.grain) { range in
            adamw_lerp(path.code, values, end, weight, range.lowerBound, range.upperBound)
        }
    }
}

extension ScheduleFreeStep {
    /// The same step as ``apply(_:count:)``, one element at a time with scalar arithmetic and no threads: the
    /// reference the C kernel is tested against, bit for bit, with fused multiply-adds (`fused`, the FMA paths)
    /// or each product and sum rounded (SSE2, generic).
    public func applyReference(_ streams: Streams, count: Int, fused: Bool = true) {
        // c + a·b
        func madd(_ c: Float, _ a: Float, _ b: Float) -> Float { fused ? c.addingProduct(a, b) : c + a * b }
        for i in 0..<count {
            let g = streams.grad[i]
            var y = streams.param[i], z = fresh ? y : streams.z[i], v = streams.expAvgSq[i]
            v = madd(v * beta2, g * oneMinusBeta2, g)
            let denom = (v / biasCorrection2).squareRoot() + eps
            var normalized = g / denom
            if weightDecay != 0 { normalized = madd(normalized, y, weightDecay) }
            y = Self.interpolateReference(y, z, weight: ckp1, fused: fused)
            y = madd(y, normalized, yLR)
            z = madd(z, normalized, -lr)
            streams.param[i] = y
            streams.z[i] = z
            streams.expAvgSq[i] = v
        }
    }

    /// lerp(start, end, weight) as ``interpolate(_:toward:weight:count:)`` computes it: start + w·(end − start)
    /// when |w| < 0.5, else end + (w − 1)·(end − start).
    public static func interpolateReference(_ start: Float, _ end: Float, weight: Float, fused: Bool = true) -> Float {
        let small = abs(weight) < 0.5
        let coefficient = small ? weight : weight - 1, base = small ? start : end
        return fused ? base.addingProduct(coefficient, end - start) : base + coefficient * (end - start)
    }
}
