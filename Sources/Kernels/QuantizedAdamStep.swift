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
/// A block belongs to the range that holds its first element, so that any split of a tensor between threads
/// covers every block once and gives the same bits. A NaN in a block's new state makes its scale NaN (torch's
/// `amax`), so the whole block decodes to NaN; an infinity makes the scale infinite. The non-finite-gradient policy
/// decides before any of this runs.
struct QuantizedAdamStep {
    let decay: Float          // lr·λ, AdamW
    let l2: Float             // λ, Adam's coupled L2
    let beta1Weight: Float    // 1 − β1, rounded from Double
    let beta2Weight: Float    // 1 − β2
    let stepSize: Float                   // lr / (1 − β1ᵗ), bias correction in float32
    let inverseBiasCorrection2Sqrt: Float // 1 / √(1 − β2ᵗ)
    let eps: Float
    let maximize: Bool
    let amsgrad: Bool

    typealias Vector = SIMD16<Float>

    init(_ step: AdamStep) {
        decay = step.blockDecay
        l2 = step.l2
        beta1Weight = step.beta1Weight
        beta2Weight = step.oneMinusBeta2
        stepSize = step.blockLR / step.blockBiasCorrection1
        inverseBiasCorrection2Sqrt = 1 / step.blockBiasCorrection2Sqrt
        eps = step.eps
        maximize = step.maximize
        amsgrad = step.amsgrad
    }

    /// The blocks whose first element is in `range`.
    func run(_ p: AdamStep.Streams, _ range: Range<Int>, storage: StateStorage) {
        guard let signed = storage.signedMap, let unsigned = storage.unsignedMap else { return }
        precondition(!amsgrad || (p.maxExpAvgSq != nil && p.maxExpAvgSqScales != nil),
                     "amsgrad needs v̂max's codes and scales")
        // torchao's maps: 8-bit dynamic maps, or the 4-bit dynamic map for m and the linear one for v.
        precondition(signed.bits == 8 || unsigned == .int4Unsigned, "no kernel for the map \(unsigned.name)")
        let block = signed.blockSize
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * block) { scratch in
            guard let m = scratch.baseAddress else { return }
            if signed.bits == 8 {
                run(p, range, signed: signed, unsigned: unsigned, scratch: m, Int8Codes.self, Int8Codes.self)
            } else {
                run(p, range, signed: signed, unsigned: unsigned, scratch: m, Int4Codes.self, Int4LinearCodes.self)
            }
        }
    }

    /// A block at a time, three passes over it: the states' update (decode, update, the new scales), θ's update,
    /// and the encoding of the new states (`scratch`, three blocks, holds them between the passes, as a scale
    /// needs its whole block). Separate loops ran faster than θ's update fused into either of the others (by
    /// 4–8% for 4-bit states, in cache). `M` and `V` are the code formats of m and of v (and v̂max).
    private func run<M: CodeFormat, V: CodeFormat>(
        _ p: AdamStep.Streams, _ range: Range<Int>, signed: QuantizationMap, unsigned: QuantizationMap,
        scratch m: UnsafeMutablePointer<Float>, _: M.Type, _: V.Type
    ) {
        guard let mScales = p.expAvgScales, let vScales = p.expAvgSqScales else { return }
        let block = signed.blockSize
        let first = (range.lowerBound + block - 1) / block, end = (range.upperBound + block - 1) / block
        let signedTables = CodeTables(signed.tables), unsignedTables = CodeTables(unsigned.tables)
        let v = m + block, maximum = m + 2 * block
        let mCodes = UnsafeMutableRawPointer(p.expAvg).assumingMemoryBound(to: UInt8.self)
        let vCodes = UnsafeMutableRawPointer(p.expAvgSq).assumingMemoryBound(to: UInt8.self)
        let maxCodes = p.maxExpAvgSq.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt8.self) }
        for index in first..<max(first, end) {
            let base = index * block
            let scales = updateStates(p, at: base, count: block, m: m, v: v, maximum: maximum,
                                      oldScales: (mScales[index], vScales[index], p.maxExpAvgSqScales?[index] ?? 0),
                                      signed: signedTables, unsigned: unsignedTables, M.self, V.self)
            mScales[index] = scales.m
            vScales[index] = scales.v
            if amsgrad, let maxScales = p.maxExpAvgSqScales { maxScales[index] = scales.maximum }
            let mReciprocal = 1 / scales.m, vReciprocal = 1 / scales.v, maxReciprocal = 1 / scales.maximum
            guard mReciprocal.isNormal && vReciprocal.isNormal && (!amsgrad || maxReciprocal.isNormal) else {
                // A block that held a NaN, an infinity or a value above 2¹²⁶: θ, then each buffer by division, and
                // by the reference rule where its scale is not finite.
                for i in stride(from: 0, to: block, by: Vector.scalarCount) {
                    updateParameter(p, at: base + i, m: Vector.load(m + i), second: Vector.load((amsgrad ? maximum : v) + i))
                }
                encode(m, scale: scales.m, count: block, map: signed, into: mCodes, at: base, M.self)
                encode(v, scale: scales.v, count: block, map: unsigned, into: vCodes, at: base, V.self)
                if amsgrad, let maxCodes { encode(maximum, scale: scales.maximum, count: block, map: unsigned, into: maxCodes, at: base, V.self) }
                continue
            }
            var i = 0
            while i < block {
                updateParameter(p, at: base + i, m: Vector.load(m + i), second: Vector.load((amsgrad ? maximum : v) + i))
                i += Vector.scalarCount
            }
            i = 0
            while i < block {
                let mm = Vector.load(m + i), vv = Vector.load(v + i)
                let second = amsgrad ? Vector.load(maximum + i) : vv
                M.store(M.codes(of: Self.quotient(mm, scales.m, mReciprocal), signedTables), to: mCodes, at: base + i)
                V.store(V.codes(of: Self.quotient(vv, scales.v, vReciprocal), unsignedTables), to: vCodes, at: base + i)
                if amsgrad, let maxCodes {
                    V.store(V.codes(of: Self.quotient(second, scales.maximum, maxReciprocal), unsignedTables),
                            to: maxCodes, at: base + i)
                }
                i += Vector.scalarCount
            }
        }
    }

    /// The states' update over one block: decodes m, v (and v̂max) from their codes times `oldScales`, updates them
    /// in float32 and writes them to `m`, `v` (and `maximum`). Returns the new scales.
    @inline(__always)
    private func updateStates<M: CodeFormat, V: CodeFormat>(
        _ p: AdamStep.Streams, at base: Int, count: Int, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
        maximum: UnsafeMutablePointer<Float>, oldScales: (m: Float, v: Float, maximum: Float),
        signed: CodeTables, unsigned: CodeTables, _: M.Type, _: V.Type
    ) -> (m: Float, v: Float, maximum: Float) {
        // Largest magnitudes as integer bit patterns: for non-negative floats the integer order is the numeric
        // order, and a NaN's pattern is above every number's, so it propagates as torch's amax does.
        var mLargest = SIMD16<Int32>(), vLargest = SIMD16<Int32>(), maxLargest = SIMD16<Int32>()
        let mCodes = UnsafeRawPointer(p.expAvg).assumingMemoryBound(to: UInt8.self)
        let vCodes = UnsafeRawPointer(p.expAvgSq).assumingMemoryBound(to: UInt8.self)
        var i = 0
        while i < count {
            var g = Vector.load(p.grad + base + i)
            var mm = M.values(mCodes, at: base + i, signed) * oldScales.m
            var vv = V.values(vCodes, at: base + i, unsigned) * oldScales.v
            if maximize { g = -g }
            if l2 != 0 {
                var theta = Vector.load(p.param + base + i)
                if decay != 0 { theta = theta - decay * theta }  // θ as updateParameter decays it
                g = g + l2 * theta
            }
            mm = lerp(mm, g, beta1Weight)
            vv = lerp(vv, g * g, beta2Weight)
            if amsgrad, let codes = p.maxExpAvgSq {
                let stored = V.values(UnsafeRawPointer(codes).assumingMemoryBound(to: UInt8.self), at: base + i, unsigned)
                let second = (stored * oldScales.maximum).nanPropagatingMax(vv)
                second.store(to: maximum + i)
                maxLargest = Self.larger(maxLargest, Self.magnitudeBits(second))
            }
            mm.store(to: m + i)
            vv.store(to: v + i)
            mLargest = Self.larger(mLargest, Self.magnitudeBits(mm))
            vLargest = Self.larger(vLargest, Self.magnitudeBits(vv))
            i += Vector.scalarCount
        }
        return (Self.scale(mLargest), Self.scale(vLargest), amsgrad ? Self.scale(maxLargest) : 0)
    }

    /// θ's update for sixteen elements from their new m and √-argument (v, or v̂max with amsgrad). torchao divides
    /// by √bc2 and by bc1 and then by the denominator; one division and two products by reciprocals computed once
    /// differ from that by an ulp of the update (within the reference tolerance), and the states, which decide the
    /// codes, are computed exactly as torchao does.
    @inline(__always)
    private func updateParameter(_ p: AdamStep.Streams, at i: Int, m: Vector, second: Vector) {
        var theta = Vector.load(p.param + i)
        if decay != 0 { theta = theta - decay * theta }
        let denominator = second.squareRoot() * inverseBiasCorrection2Sqrt + eps
        theta = theta - stepSize * m / denominator
        theta.store(to: p.param + i)
    }

    /// PyTorch's lerp: start + w(end − start) for w < ½, else end − (end − start)(1 − w), each step rounded.
    @inline(__always)
    private func lerp(_ start: Vector, _ end: Vector, _ weight: Float) -> Vector {
        weight < 0.5 ? start + weight * (end - start) : end - (end - start) * (1 - weight)
    }

    @inline(__always)
    static func magnitudeBits(_ x: Vector) -> SIMD16<Int32> {
        unsafeBitCast(x, to: SIMD16<Int32>.self) & 0x7FFF_FFFF
    }

    /// The larger of two vectors, lane by lane: a lane loop, which becomes one `vpmaxsd` (`pointwiseMax` on integer
    /// vectors is an out-of-line call).
    @inline(__always)
    static func larger<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Int32 {
        var result = V()
        for lane in a.indices { result[lane] = Swift.max(a[lane], b[lane]) }
        return result
    }

    /// max(largest, 1e-12), or NaN when the block held one.
    @inline(__always)
    static func scale(_ largest: SIMD16<Int32>) -> Float {
        // Halving in registers (a lane loop over all sixteen with `max` became an out-of-line call).
        let eight = larger(largest.lowHalf, largest.highHalf), four = larger(eight.lowHalf, eight.highHalf)
        let two = larger(four.lowHalf, four.highHalf)
        let value = Float(bitPattern: UInt32(Swift.max(two[0], two[1])))
        return value.isNaN ? value : Swift.max(value, 1e-12)
    }

    /// Encodes `count` values of `x` divided by `scale` with `map`, into the code memory `bytes` at element `base`:
    /// the way for blocks whose scale's reciprocal is not a normal float, so it divides.
    @inline(__always)
    private func encode<F: CodeFormat>(_ x: UnsafeMutablePointer<Float>, scale: Float, count: Int, map: QuantizationMap,
                                       into bytes: UnsafeMutablePointer<UInt8>, at base: Int, _: F.Type) {
        // A non-finite scale (the block held a NaN or an infinity): y may be NaN, whose code is 0 (torchao's search
        // finds nothing at or below a NaN). Rare, so one element at a time by the reference rule. Otherwise every
        // y is in [−1, 1], which the vector code relies on.
        guard scale.isFinite else {
            for j in 0..<count {
                let code = UInt8(map.code(of: x[j] / scale))
                if map.bits == 8 {
                    bytes[base + j] = code
                } else {
                    let byte = bytes + (base + j) / 2
                    byte.pointee = j % 2 == 0 ? (byte.pointee & 0x0F) | code << 4 : (byte.pointee & 0xF0) | code
                }
            }
            return
        }
        let tables = CodeTables(map.tables)
        var j = 0
        while j < count {
            F.store(F.codes(of: Vector.load(x + j) / scale, tables), to: bytes, at: base + j)
            j += Vector.scalarCount
        }
    }

    /// x / d rounded to nearest, as a division gives it, from r = 1/d (rounded) by Markstein's correction: q = x·r
    /// is within an ulp of x/d, x − q·d is exact by FMA, and q + (x − q·d)·r is then the rounded quotient. Two
    /// FMAs and a product instead of a division, which costs as much as the rest of an element's encoding. (Where
    /// x or the remainder is subnormal the correction can miss by an ulp, and −0 comes out +0, but every such y
    /// is below 1e-26, far below every threshold, so its code is the same; a test checks the codes against the
    /// division.) A scale above 2¹²⁶ has a subnormal reciprocal, too imprecise for the correction: such a block
    /// is coded by `encode`, which divides.
    @inline(__always)
    static func quotient(_ x: Vector, _ d: Float, _ r: Float) -> Vector {
        let q = x * r
        let remainder = x.addingProduct(-q, Vector(repeating: d))
        return q.addingProduct(remainder, Vector(repeating: r))
    }
}
