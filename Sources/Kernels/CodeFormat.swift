/// How sixteen codes of a quantized state are read into map values and written from values, in registers: the
/// 8-bit and 4-bit formats of torchao's `AdamW8bit` and `AdamW4bit` that ``QuantizedAdamStep`` is generic over,
/// with the tables they read and the integer arithmetic they share.
protocol CodeFormat {
    /// The map values of the sixteen codes of elements `element`…`element + 15` of `codes`.
    static func values(_ codes: UnsafePointer<UInt8>, at element: Int, _ tables: CodeTables) -> SIMD16<Float>
    /// The codes of sixteen y ∈ [−1, 1] (finite).
    static func codes(of y: SIMD16<Float>, _ tables: CodeTables) -> SIMD16<UInt32>
    /// Stores sixteen codes for elements `element`…`element + 15`.
    static func store(_ codes: SIMD16<UInt32>, to bytes: UnsafeMutablePointer<UInt8>, at element: Int)
}

/// A map's tables as plain pointers (no reference to count in the loops).
struct CodeTables {
    let values: UnsafePointer<Float>
    let buckets: UnsafePointer<UInt32>
    let splatValues: UnsafePointer<UInt32>
    let splatThresholds: UnsafePointer<Float>

    init(_ tables: QuantizationMap.Tables) {
        values = UnsafePointer(tables.values)
        buckets = UnsafePointer(tables.buckets)
        splatValues = UnsafePointer(tables.splatValues)
        splatThresholds = UnsafePointer(tables.splatThresholds)
    }
}

extension CodeFormat {
    /// Ordered keys of sixteen floats: negative ones with every bit flipped, positive ones with the sign bit set
    /// (no masks: Swift runs masked selects lane by lane; the arithmetic shift spreads the sign bit).
    @inline(__always)
    static func orderedKeys(_ y: SIMD16<Float>) -> SIMD16<UInt32> {
        let bits = unsafeBitCast(y, to: SIMD16<Int32>.self)
        return unsafeBitCast(bits ^ ((bits &>> 31) | Int32(bitPattern: 0x8000_0000)), to: SIMD16<UInt32>.self)
    }

    /// Bitwise select: `high` where `mask` is all ones, `low` where it is zeros (one `vpternlogd`).
    @inline(__always)
    static func pick<V: SIMD>(_ low: V, _ high: V, _ mask: V) -> V where V.Scalar: FixedWidthInteger {
        (low & ~mask) | (high & mask)
    }

    /// The 4-bit codes of y ∈ [−1, 1]: the number of thresholds at or below each. One compare with the middle
    /// threshold picks the half, then the seven thresholds of that half are counted side by side (a compare, a
    /// select and an add each; a four-level binary search has fewer operations, but each level waits for the one
    /// before, and it ran 9% slower). No threshold is a zero, so −0 and +0, equal to a float compare, get the same
    /// code, as in the reference.
    @inline(__always)
    static func countedCode(_ y: SIMD16<Float>, _ thresholds: UnsafePointer<Float>) -> SIMD16<Int32> {
        @inline(__always) func t(_ k: Int) -> SIMD16<Int32> {
            UnsafeRawPointer(thresholds + 16 * k).load(as: SIMD16<Int32>.self)
        }
        // A comparison's mask is a vector of −1 (true) and 0 lanes.
        @inline(__always) func below(_ threshold: SIMD16<Int32>) -> SIMD16<Int32> {
            unsafeBitCast(y .< unsafeBitCast(threshold, to: SIMD16<Float>.self), to: SIMD16<Int32>.self)
        }
        let upper = ~below(t(7))
        var code = (upper & 8) &+ 7  // minus one for each threshold of the half above y
        for k in 0..<7 { code &+= below(pick(t(k), t(k + 8), upper)) }
        return code
    }

    /// The codes of y ∈ [0, 1] in the linear map (k + 1)/16 (4-bit v), by arithmetic: with x = 16y (exact), the
    /// largest k with (k + 1)/16 ≤ y is ⌊x⌋ − 1, and the rule rounds up when x − ⌊x⌋ ≥ ½ (every difference here is
    /// exact), so the code is ⌊x + ½⌋ − 1 clamped to 0…15 (x + ½ rounds, but never across an integer).
    @inline(__always)
    static func linearCode(_ y: SIMD16<Float>) -> SIMD16<Int32> {
        let rounded = (y * 16 + 0.5).rounded(.down) + 8_388_608  // 2²³: the integer lands in the low bits
        let code = (unsafeBitCast(rounded, to: SIMD16<Int32>.self) & 0xFF) &- 1
        let nonNegative = code & ~(code &>> 31)
        let excess = nonNegative &- 15
        return nonNegative &- (excess & ~(excess &>> 31))
    }

    /// table[code] for sixteen codes below 16: a tree of bitwise selects on the code's bits, lowest bit first
    /// (written out: an array here would allocate in the loop).
    @inline(__always)
    static func select(_ codes: SIMD16<UInt32>, _ table: UnsafePointer<UInt32>) -> SIMD16<Float> {
        @inline(__always) func mask(_ bit: UInt32) -> SIMD16<UInt32> {
            unsafeBitCast(unsafeBitCast(codes &<< (31 - bit), to: SIMD16<Int32>.self) &>> 31, to: SIMD16<UInt32>.self)
        }
        @inline(__always) func value(_ index: Int) -> SIMD16<UInt32> {
            UnsafeRawPointer(table + 16 * index).load(as: SIMD16<UInt32>.self)
        }
        let m0 = mask(0), m1 = mask(1), m2 = mask(2), m3 = mask(3)
        let a0 = pick(value(0), value(1), m0), a1 = pick(value(2), value(3), m0)
        let a2 = pick(value(4), value(5), m0), a3 = pick(value(6), value(7), m0)
        let a4 = pick(value(8), value(9), m0), a5 = pick(value(10), value(11), m0)
        let a6 = pick(value(12), value(13), m0), a7 = pick(value(14), value(15), m0)
        let b0 = pick(a0, a1, m1), b1 = pick(a2, a3, m1), b2 = pick(a4, a5, m1), b3 = pick(a6, a7, m1)
        let c0 = pick(b0, b1, m2), c1 = pick(b2, b3, m2)
        return unsafeBitCast(pick(c0, c1, m3), to: SIMD16<Float>.self)
    }
}

/// 8-bit codes, one a byte: a table lookup each way (the 256 values; the bucket table of ordered keys).
enum Int8Codes: CodeFormat {
    @inline(__always)
    static func values(_ codes: UnsafePointer<UInt8>, at element: Int, _ tables: CodeTables) -> SIMD16<Float> {
        // The lane loop becomes a widening of the sixteen bytes and one `vgatherdps` from the 1 KB table (on Zen 4
        // no faster than sixteen loads: Benchmarks/lookup_ceiling.c).
        let bytes = UnsafeRawPointer(codes + element).loadUnaligned(as: SIMD16<UInt8>.self)
        var values = SIMD16<Float>()
        for lane in 0..<16 { values[lane] = tables.values[Int(bytes[lane])] }
        return values
    }

    @inline(__always)
    static func codes(of y: SIMD16<Float>, _ tables: CodeTables) -> SIMD16<UInt32> {
        let keys = Self.orderedKeys(y)
        var entries = SIMD16<UInt32>()
        for lane in 0..<16 { entries[lane] = tables.buckets[Int(keys[lane] >> 16)] }  // one `vpgatherdd`
        // The count of thresholds below the bucket, plus one where the key is at or above the one inside it: the
        // sign of (low bits − inside), both below 2¹⁷, is the comparison.
        let difference = unsafeBitCast((keys & 0xFFFF) &- (entries &>> 8), to: SIMD16<Int32>.self)
        return (entries & 0xFF) &+ 1 &+ unsafeBitCast(difference &>> 31, to: SIMD16<UInt32>.self)
    }

    @inline(__always)
    static func store(_ codes: SIMD16<UInt32>, to bytes: UnsafeMutablePointer<UInt8>, at element: Int) {
        // Lane by lane straight to memory: one `vpmovdb` (through a SIMD16<UInt8> it becomes byte shuffles).
        // (`bytes[element + lane]` would check each sum for overflow and store byte by byte.)
        let target = bytes + element
        for lane in 0..<16 { target[lane] = UInt8(truncatingIfNeeded: codes[lane]) }
    }
}

/// 4-bit codes, two a byte with the first element in the high half (torchao's packing), all in registers: a tree
/// of selects to decode, a count of the thresholds at or below a value to encode.
enum Int4Codes: CodeFormat {
    /// The first of each pair of 4-bit codes goes to its byte's high half.
    static let pairShifts = SIMD16<UInt32>(4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0)

    @inline(__always)
    static func values(_ codes: UnsafePointer<UInt8>, at element: Int, _ tables: CodeTables) -> SIMD16<Float> {
        Self.select(nibbles(codes, at: element), tables.splatValues)
    }

    /// Sixteen codes are eight bytes: each lane takes its byte and shifts its half down.
    @inline(__always)
    static func nibbles(_ codes: UnsafePointer<UInt8>, at element: Int) -> SIMD16<UInt32> {
        let packed = UnsafeRawPointer(codes + element / 2).loadUnaligned(as: SIMD8<UInt8>.self)
        var doubled = SIMD16<UInt32>()
        for lane in 0..<16 { doubled[lane] = UInt32(packed[lane / 2]) }
        return (doubled &>> Self.pairShifts) & 15
    }

    @inline(__always)
    static func codes(of y: SIMD16<Float>, _ tables: CodeTables) -> SIMD16<UInt32> {
        unsafeBitCast(Self.countedCode(y, tables.splatThresholds), to: SIMD16<UInt32>.self)
    }

    /// byte = first << 4 | second, eight bytes for the sixteen: each pair of 32-bit lanes read as one 64-bit
    /// lane (first in the low half) is combined there and narrowed (one `vpmovqb`). (`evenHalf` would do too, but
    /// crashes the Swift 6.3 compiler where this type specializes a generic function.)
    @inline(__always)
    static func store(_ codes: SIMD16<UInt32>, to bytes: UnsafeMutablePointer<UInt8>, at element: Int) {
        let pairs = unsafeBitCast(codes, to: SIMD8<UInt64>.self)
        let combined = ((pairs & 0xF) &<< 4) | (pairs &>> 32)
        let target = bytes + element / 2
        for pair in 0..<8 { target[pair] = UInt8(truncatingIfNeeded: combined[pair]) }
    }
}

/// The 4-bit linear map (k + 1)/16 of torchao's v, decoded and encoded by arithmetic.
enum Int4LinearCodes: CodeFormat {
    @inline(__always)
    static func values(_ codes: UnsafePointer<UInt8>, at element: Int, _ tables: CodeTables) -> SIMD16<Float> {
        // (k + 1)/16: the integer k + 1 in a float's low bits above 2²³, minus 2²³, is exact.
        let k = Int4Codes.nibbles(codes, at: element)
        return (unsafeBitCast((k &+ 1) | 0x4B00_0000, to: SIMD16<Float>.self) - 8_388_608) * 0.0625
    }

    @inline(__always)
    static func codes(of y: SIMD16<Float>, _ tables: CodeTables) -> SIMD16<UInt32> {
        unsafeBitCast(Self.linearCode(y), to: SIMD16<UInt32>.self)
    }

    @inline(__always)
    static func store(_ codes: SIMD16<UInt32>, to bytes: UnsafeMutablePointer<UInt8>, at element: Int) {
        Int4Codes.store(codes, to: bytes, at: element)
    }
}
