import CKernels

/// One Adam/AdamW step over block-wise quantized moments, as torchao's `AdamW8bit`/`AdamW4bit` compute it (its
/// `single_param_adam`), fused into one pass over memory a block at a time: decode a block of m and v (and v̂max),
/// update them in float32 and find each buffer's new scale, then update θ and encode. No float32 copy of a state
/// exists beyond one block of scratch on the stack.
///
///     θ ← θ − (lr·λ)·θ (AdamW)   or   g ← g + λ·θ (Adam)          all in float32, each operation rounded
///     m ← lerp(m, g, 1 − β1);  v ← lerp(v, g², 1 − β2);  v̂max ← max(v̂max, v) (amsgrad)
///     θ ← θ − lr·(m / bc1) / (√v / √bc2 + ε),  bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ in float32 (the divisions by bc1 and
///                                              √bc2 as products by reciprocals: the same to an ulp of the update)
///
/// The loop is C (`adamw_quantized_adam_step`, compiled per instruction set): on AVX-512 it decodes 8-bit codes by
/// register permutes over the 256 values (`vpermi2ps`), 4-bit codes by one permute over the 16 values held in a
/// register, and finds an 8-bit code from a bucket table by a gather; the other paths look the values up one by one.
/// Its only fused operation, the correction of a quotient by a reciprocal, is exact, so every path gives the same
/// bits.
///
/// A block belongs to the range that holds its first element, so that any split of a tensor between threads
/// covers every block once and gives the same bits. A NaN in a block's new state makes its scale NaN (torch's
/// `amax`), so the whole block decodes to NaN; an infinity makes the scale infinite. The non-finite-gradient policy
/// decides before any of this runs.
struct QuantizedAdamStep {
    let scalars: adamw_quantized_scalars

    init(_ step: AdamStep) {
        scalars = adamw_quantized_scalars(
            decay: step.blockDecay, l2: step.l2, beta1_weight: step.beta1Weight, beta2_weight: step.oneMinusBeta2,
            step_size: step.blockLR / step.blockBiasCorrection1,
            inverse_bias_correction2_sqrt: 1 / step.blockBiasCorrection2Sqrt, eps: step.eps,
            maximize: step.maximize ? 1 : 0, amsgrad: step.amsgrad ? 1 : 0)
    }

    /// The blocks whose first element is in `range`, on `path`.
    func run(_ p: AdamStep.Streams, _ range: Range<Int>, storage: StateStorage, path: CPUPath) {
        guard let signed = storage.signedMap, let unsigned = storage.unsignedMap,
              let mScales = p.expAvgScales, let vScales = p.expAvgSqScales else { return }
        let amsgrad = scalars.amsgrad != 0
        precondition(!amsgrad || (p.maxExpAvgSq != nil && p.maxExpAvgSqScales != nil),
                     "amsgrad needs v̂max's codes and scales")
        // torchao's maps: 8-bit dynamic maps, or the 4-bit dynamic map for m and the linear one for v.
        precondition(signed.bits == 8 || unsigned == .int4Unsigned, "no kernel for the map \(unsigned.name)")
        let block = signed.blockSize, owned = storage.ownedElements(of: range)
        let first = owned.lowerBound / block, end = owned.upperBound / block
        guard first < end else { return }
        func bytes(_ pointer: UnsafeMutablePointer<Float>?) -> UnsafeMutablePointer<UInt8>? {
            pointer.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt8.self) }
        }
        var buffers = adamw_quantized_buffers(
            param: p.param, grad: p.grad, m_codes: bytes(p.expAvg), v_codes: bytes(p.expAvgSq),
            max_codes: bytes(p.maxExpAvgSq), m_scales: mScales, v_scales: vScales, max_scales: p.maxExpAvgSqScales)
        var signedMap = Self.codeMap(signed), unsignedMap = Self.codeMap(unsigned)
        var scalars = scalars
        adamw_quantized_adam_step(path.code, &scalars, &buffers, &signedMap, &unsignedMap, first, end)
    }

    static func codeMap(_ map: QuantizationMap) -> adamw_code_map {
        adamw_code_map(values: map.tables.values, thresholds: map.tables.thresholds, buckets: map.tables.buckets,
                       bucket_floor: Int32(map.tables.bucketFloor), bucket_half: Int32(map.tables.bucketHalf),
                       bits: Int32(map.bits))
    }
}
