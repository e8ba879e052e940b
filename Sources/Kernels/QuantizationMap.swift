/// A code book for block-wise quantized optimizer state, as bitsandbytes' and torchao's 8-bit and 4-bit
/// optimizers use: 2ᵇ ascending values in [−1, 1] (signed, for Adam's m) or [0, 1] (unsigned, for v), one float32
/// scale per block of ``blockSize`` elements.
///
///     quantize x (a block):  scale = max(max |x|, 1e-12);  y = x / scale (float32 division)
///                            code = the largest c with map[c] ≤ y (0 if none), then c + 1 when
///                            y − map[c] ≥ (map[c+1] − map[c])·0.5 (ties up; never past the last code)
///     dequantize:            map[code] · scale
///
/// Rounding folds into one threshold per code: ``thresholds``[k] is the smallest float y that the rule above
/// gives a code above k, so the code of y is the number of thresholds at or below it (a NaN gets code 0, as in
/// torchao). The 4-bit kernels count the thresholds with vector compares; the 8-bit ones look the count up in a
/// bucket table of the thresholds (``tables``).
///
/// The 8-bit maps are bitsandbytes' dynamic maps (`create_dynamic_map`: a decimal exponent and a linear fraction)
/// and the 4-bit signed map its 3-bit-exponent variant, the unsigned 4-bit map is (1…16)/16: torchao 0.18's
/// `AdamW8bit`/`AdamW4bit` maps. They are listed as the exact float32 values torchao computes, because their last
/// bits come from PyTorch's float32 `linspace`; a test checks them against the reference file.
public struct QuantizationMap: Sendable, Equatable {
    /// The values codes stand for, ascending.
    public let values: [Float]
    /// Bits per code: 8 or 4.
    public let bits: Int
    /// Elements per scale.
    public let blockSize: Int
    /// Whether the map covers [−1, 1] (m) rather than [0, 1] (v).
    public let isSigned: Bool
    /// thresholds[k]: the smallest y whose code is above k (values.count − 1 of them, ascending).
    public let thresholds: [Float]
    /// A short name for checkpoints and messages: `int8-signed`, `int4-unsigned`, ….
    public let name: String
    /// The values, the thresholds and for 8-bit maps the bucket table, in memory of their own, for kernels that read
    /// them without touching an array (a retain and release per block would cost as much as the block). A bucket is
    /// 2¹⁶ consecutive keys; its entry holds the number of thresholds below it in the low byte, and above that the
    /// low 16 bits of the one threshold inside it (0x10000 for none). Each bucket holds at most one threshold
    /// (checked when the table is made), so an 8-bit code is one lookup and one compare.
    ///
    /// The table holds only the buckets of y ∈ [−1, 1] (what a block's scale leaves) whose magnitude reaches the
    /// smallest threshold's, 22 KB instead of 256 KB, so that the lookups hit the L1 cache: with m = the top 16 bits
    /// of |y| and c = max(m − `bucketFloor`, 0), y ≥ 0 reads entry `bucketHalf` + c and y < 0 entry
    /// `bucketHalf` − 1 − c (c = 0 stands for every smaller magnitude, whose buckets hold no threshold).
    let tables: Tables

    final class Tables: @unchecked Sendable {
        let values: UnsafeMutablePointer<Float>
        let thresholds: UnsafeMutablePointer<Float>
        let buckets: UnsafeMutablePointer<UInt32>
        let bucketFloor: Int, bucketHalf: Int

        init(values: [Float], thresholds: [Float], buckets: [UInt32], bucketFloor: Int = 0, bucketHalf: Int = 0) {
            (self.bucketFloor, self.bucketHalf) = (bucketFloor, bucketHalf)
            self.values = .allocate(capacity: values.count)
            self.values.initialize(from: values, count: values.count)
            self.thresholds = .allocate(capacity: max(thresholds.count, 1))
            self.thresholds.initialize(from: thresholds, count: thresholds.count)
            self.buckets = .allocate(capacity: max(buckets.count, 1))
            self.buckets.initialize(from: buckets, count: buckets.count)
        }

        deinit {
            values.deallocate()
            thresholds.deallocate()
            buckets.deallocate()
        }
    }

    init(values: [Float], bits: Int, blockSize: Int, isSigned: Bool, name: String) {
        precondition(values.count == 1 << bits && zip(values, values.dropFirst()).allSatisfy { $0 < $1 })
        self.values = values
        self.bits = bits
        self.blockSize = blockSize
        self.isSigned = isSigned
        self.name = name
        let thresholds = values.indices.dropLast().map { Self.threshold(below: values[$0], above: values[$0 + 1]) }
        self.thresholds = thresholds
        if bits == 8 {
            let (table, floor, half) = Self.compressed(Self.buckets(thresholds.map(Self.orderedKey)), thresholds)
            tables = Tables(values: values, thresholds: thresholds, buckets: table, bucketFloor: floor, bucketHalf: half)
        } else {
            tables = Tables(values: values, thresholds: thresholds, buckets: [])
        }
    }

    /// The buckets of y ∈ [−1, 1] from the smallest threshold's magnitude up (see ``tables``): positive y's above
    /// the middle, negative y's below it, mirrored, so that both grow away from zero.
    private static func compressed(_ full: [UInt32], _ thresholds: [Float]) -> (table: [UInt32], floor: Int, half: Int) {
        let magnitudes = thresholds.map { Int($0.magnitude.bitPattern >> 16) }
        let floor = (magnitudes.min() ?? 1) - 1, top = Int(Float(1).bitPattern >> 16)
        precondition(floor >= 0, "a threshold at zero")
        let half = top - floor + 1
        var table = [UInt32](repeating: 0, count: 2 * half)
        for c in 0..<half {
            table[half + c] = full[0x8000 + floor + c]
            table[half - 1 - c] = full[0x7FFF - (floor + c)]
        }
        return (table, floor, half)
    }

    public static func == (a: QuantizationMap, b: QuantizationMap) -> Bool { a.name == b.name && a.values == b.values }

    private static func buckets(_ keys: [UInt32]) -> [UInt32] {
        var table = [UInt32](repeating: 0, count: 1 << 16)
        var below = 0
        for bucket in table.indices {
            let start = UInt32(bucket) << 16
            while below < keys.count && keys[below] < start { below += 1 }
            var inside: UInt32 = 0x10000
            if below < keys.count && keys[below] >> 16 == UInt32(bucket) {
                precondition(below + 1 == keys.count || keys[below + 1] >> 16 != UInt32(bucket),
                             "two thresholds in one bucket")
                inside = keys[below] & 0xFFFF
            }
            table[bucket] = UInt32(below) | inside << 8
        }
        return table
    }

    /// The smallest y ≥ `low` with fl(y − low) ≥ fl(fl(high − low) · 0.5): where the code moves from `low`'s to
    /// `high`'s. fl(y − low) never decreases as y grows, so a binary search over the floats between them finds it.
    static func threshold(below low: Float, above high: Float) -> Float {
        let half = (high - low) * 0.5
        var lower = orderedKey(low), upper = orderedKey(high)  // the answer is in (lower, upper]
        if value(ofKey: lower) - low >= half { return low }
        while upper - lower > 1 {
            let middle = lower + (upper - lower) / 2
            if value(ofKey: middle) - low >= half { upper = middle } else { lower = middle }
        }
        return value(ofKey: upper)
    }

    /// A key that orders floats as numbers (−0 just below +0).
    static func orderedKey(_ x: Float) -> UInt32 {
        x.sign == .minus ? ~x.bitPattern : x.bitPattern | 0x8000_0000
    }

    static func value(ofKey key: UInt32) -> Float {
        Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
    }

    /// The code of `y` (already divided by its block's scale), by the rule in the type's description.
    public func code(of y: Float) -> Int {
        var low = 0, high = thresholds.count  // code = the number of thresholds ≤ y
        while low < high {
            let middle = (low + high) / 2
            if y >= thresholds[middle] { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The code of `y` as torchao computes it (a search for the largest value ≤ y, then the rounding): the
    /// reference ``code(of:)`` and the kernels are tested against.
    public func referenceCode(of y: Float) -> Int {
        var c = 0
        for (index, value) in values.enumerated() where value <= y { c = index }
        let up = min(c + 1, values.count - 1)
        return y - values[c] >= (values[up] - values[c]) * 0.5 ? up : c
    }

    /// The scale of a block: max(max |x|, 1e-12), NaN when the block holds a NaN (as torch's `amax`).
    public static func scale(of block: UnsafeBufferPointer<Float>) -> Float {
        var largest: Float = 0
        for x in block {
            if x.isNaN { return .nan }
            largest = Swift.max(largest, abs(x))
        }
        return Swift.max(largest, 1e-12)
    }

    /// 8-bit, blocks of 256: m's map.
    public static let int8Signed = QuantizationMap(values: int8SignedValues, bits: 8, blockSize: 256, isSigned: true,
                                                   name: "int8-signed")
    /// 8-bit, blocks of 256: v's map.
    public static let int8Unsigned = QuantizationMap(values: int8UnsignedValues, bits: 8, blockSize: 256,
                                                     isSigned: false, name: "int8-unsigned")
    /// 4-bit, blocks of 128: m's map.
    public static let int4Signed = QuantizationMap(values: int4SignedValues, bits: 4, blockSize: 128, isSigned: true,
                                                   name: "int4-signed")
    /// 4-bit, blocks of 128: v's map.
    public static let int4Unsigned = QuantizationMap(values: int4UnsignedValues, bits: 4, blockSize: 128,
                                                     isSigned: false, name: "int4-unsigned")

    /// Every map, for lookups by ``name``.
    public static let all = [int8Signed, int8Unsigned, int4Signed, int4Unsigned]

    private static let int8SignedValues: [Float] = [
        -0.992968738079071, -0.9789062738418579, -0.96484375, -0.9507812261581421, -0.936718761920929, -0.922656238079071,
        -0.9085937738418579, -0.89453125, -0.8804687261581421, -0.866406261920929, -0.852343738079071, -0.8382812738418579,
        -0.82421875, -0.8101562261581421, -0.796093761920929, -0.782031238079071, -0.7679687738418579, -0.75390625,
        -0.7398437261581421, -0.725781261920929, -0.7117187976837158, -0.6976562738418579, -0.68359375, -0.6695312261581421,
        -0.655468761920929, -0.6414062976837158, -0.6273437738418579, -0.61328125, -0.5992187261581421, -0.585156261920929,
        -0.5710937976837158, -0.5570312738418579, -0.54296875, -0.5289062261581421, -0.5148437023162842, -0.500781238079071,
        -0.48671871423721313, -0.47265625, -0.4585937261581421, -0.44453126192092896, -0.43046873807907104, -0.4164062440395355,
        -0.40234375, -0.3882812261581421, -0.37421876192092896, -0.36015623807907104, -0.3460937440395355, -0.33203125,
        -0.3179687261581421, -0.30390626192092896, -0.28984373807907104, -0.2757812738418579, -0.26171875, -0.24765624105930328,
        -0.23359374701976776, -0.21953125298023224, -0.20546874403953552, -0.19140625, -0.17734375596046448, -0.16328124701976776,
        -0.14921875298023224, -0.13515624403953552, -0.12109375, -0.10703125596046448, -0.09859374910593033, -0.09578125923871994,
        -0.09296875447034836, -0.09015624970197678, -0.08734375238418579, -0.08453124761581421, -0.08171875774860382, -0.07890625298023224,
        -0.07609374821186066, -0.07328125089406967, -0.07046874612569809, -0.0676562562584877, -0.06484375149011612, -0.062031250447034836,
        -0.05921875312924385, -0.05640624836087227, -0.053593751043081284, -0.05078125, -0.047968748956918716, -0.04515625163912773,
        -0.04234374687075615, -0.039531249552965164, -0.03671875223517418, -0.033906251192092896, -0.031093750149011612, -0.028281250968575478,
        -0.025468749925494194, -0.02265625074505806, -0.019843751564621925, -0.017031250521540642, -0.014218750409781933, -0.011406250298023224,
        -0.009718749672174454, -0.009156249463558197, -0.008593750186264515, -0.008031249977648258, -0.0074687497690320015, -0.006906250026077032,
        -0.006343749817460775, -0.005781250074505806, -0.0052187503315508366, -0.0046562496572732925, -0.004093749914318323, -0.0035312497057020664,
        -0.002968749962747097, -0.002406249986961484, -0.001843750011175871, -0.001281249918974936, -0.0009437500848434865, -0.0008312499849125743,
        -0.0007187500596046448, -0.0006062500760890543, -0.000493750034365803, -0.0003812500217463821, -0.0002687500382307917, -0.00015625001105945557,
        -8.874999912222847e-05, -6.625000241911039e-05, -4.374999844003469e-05, -2.1249998098937795e-05, -7.749999895168003e-06, -3.250000190746505e-06,
        -5.500000384017767e-07, 0.0, 5.500000384017767e-07, 3.250000190746505e-06, 7.749999895168003e-06, 2.1249998098937795e-05,
        4.374999844003469e-05, 6.625000241911039e-05, 8.874999912222847e-05, 0.00015625001105945557, 0.0002687500382307917, 0.0003812500217463821,
        0.000493750034365803, 0.0006062500760890543, 0.0007187500596046448, 0.0008312499849125743, 0.0009437500848434865, 0.001281249918974936,
        0.001843750011175871, 0.002406249986961484, 0.002968749962747097, 0.0035312497057020664, 0.004093749914318323, 0.0046562496572732925,
        0.0052187503315508366, 0.005781250074505806, 0.006343749817460775, 0.006906250026077032, 0.0074687497690320015, 0.008031249977648258,
        0.008593750186264515, 0.009156249463558197, 0.009718749672174454, 0.011406250298023224, 0.014218750409781933, 0.017031250521540642,
        0.019843751564621925, 0.02265625074505806, 0.025468749925494194, 0.028281250968575478, 0.031093750149011612, 0.033906251192092896,
        0.03671875223517418, 0.039531249552965164, 0.04234374687075615, 0.04515625163912773, 0.047968748956918716, 0.05078125,
        0.053593751043081284, 0.05640624836087227, 0.05921875312924385, 0.062031250447034836, 0.06484375149011612, 0.0676562562584877,
        0.07046874612569809, 0.07328125089406967, 0.07609374821186066, 0.07890625298023224, 0.08171875774860382, 0.08453124761581421,
        0.08734375238418579, 0.09015624970197678, 0.09296875447034836, 0.09578125923871994, 0.09859374910593033, 0.10703125596046448,
        0.12109375, 0.13515624403953552, 0.14921875298023224, 0.16328124701976776, 0.17734375596046448, 0.19140625,
        0.20546874403953552, 0.21953125298023224, 0.23359374701976776, 0.24765624105930328, 0.26171875, 0.2757812738418579,
        0.28984373807907104, 0.30390626192092896, 0.3179687261581421, 0.33203125, 0.3460937440395355, 0.36015623807907104,
        0.37421876192092896, 0.3882812261581421, 0.40234375, 0.4164062440395355, 0.43046873807907104, 0.44453126192092896,
        0.4585937261581421, 0.47265625, 0.48671871423721313, 0.500781238079071, 0.5148437023162842, 0.5289062261581421,
        0.54296875, 0.5570312738418579, 0.5710937976837158, 0.585156261920929, 0.5992187261581421, 0.61328125,
        0.6273437738418579, 0.6414062976837158, 0.655468761920929, 0.6695312261581421, 0.68359375, 0.6976562738418579,
        0.7117187976837158, 0.725781261920929, 0.7398437261581421, 0.75390625, 0.7679687738418579, 0.782031238079071,
        0.796093761920929, 0.8101562261581421, 0.82421875, 0.8382812738418579, 0.852343738079071, 0.866406261920929,
        0.8804687261581421, 0.89453125, 0.9085937738418579, 0.922656238079071, 0.936718761920929, 0.9507812261581421,
        0.96484375, 0.9789062738418579, 0.992968738079071, 1.0,
    ]
    private static let int8UnsignedValues: [Float] = [
        0.0, 3.2500003044333425e-07, 7.749999895168003e-07, 2.1249998098937795e-06, 4.374999662104528e-06, 6.624999969062628e-06,
        8.874999366526026e-06, 1.5624998923158273e-05, 2.6875000912696123e-05, 3.8124999264255166e-05, 4.937499761581421e-05, 6.0625003243330866e-05,
        7.187500159488991e-05, 8.312499267049134e-05, 9.4374998298008e-05, 0.00012812500062864274, 0.00018437500693835318, 0.00024062501324806362,
        0.00029687501955777407, 0.0003531249822117388, 0.00040937503217719495, 0.00046562502393499017, 0.0005218750447966158, 0.0005781250074505806,
        0.0006343750283122063, 0.0006906250491738319, 0.0007468750118277967, 0.0008031250908970833, 0.000859375053551048, 0.0009156250162050128,
        0.0009718750370666385, 0.0011406249832361937, 0.0014218749711290002, 0.0017031249590218067, 0.001984375063329935, 0.0022656249348074198,
        0.0025468748062849045, 0.002828124910593033, 0.0031093747820705175, 0.0033906251192092896, 0.0036718749906867743, 0.003953124862164259,
        0.0042343745008111, 0.004515625070780516, 0.004796874709427357, 0.005078124813735485, 0.0053593749180436134, 0.0056406245566904545,
        0.00592187512665987, 0.006203124765306711, 0.0064843748696148396, 0.006765625439584255, 0.007046874612569809, 0.007328125182539225,
        0.007609374355524778, 0.007890624925494194, 0.008171875029802322, 0.008453124202787876, 0.008734375238418579, 0.009015624411404133,
        0.009296874515712261, 0.009578125551342964, 0.009859374724328518, 0.010703125968575478, 0.012109375558793545, 0.013515624217689037,
        0.014921875670552254, 0.016328124329447746, 0.017734376713633537, 0.01914062537252903, 0.020546874031424522, 0.021953126415610313,
        0.023359375074505806, 0.0247656237334013, 0.02617187611758709, 0.02757812850177288, 0.028984373435378075, 0.030390625819563866,
        0.03179687261581421, 0.033203125, 0.03460937365889549, 0.036015626043081284, 0.037421878427267075, 0.03882812336087227,
        0.04023437574505806, 0.04164062440395355, 0.043046873062849045, 0.044453125447034836, 0.04585937410593033, 0.04726562649011612,
        0.048671871423721313, 0.050078123807907104, 0.0514843724668026, 0.05289062485098839, 0.05429687723517418, 0.05570312961935997,
        0.05710938200354576, 0.058515626937150955, 0.05992187187075615, 0.06132812425494194, 0.06273438036441803, 0.06414063274860382,
        0.06554687768220901, 0.06695312261581421, 0.068359375, 0.06976562738418579, 0.07117187976837158, 0.07257812470197678,
        0.07398437708616257, 0.07539062947034836, 0.07679688185453415, 0.07820312678813934, 0.07960937917232513, 0.08101562410593033,
        0.08242187649011612, 0.08382812887430191, 0.0852343738079071, 0.0866406261920929, 0.08804687112569809, 0.08945312350988388,
        0.09085937589406967, 0.09226562827825546, 0.09367188066244125, 0.09507812559604645, 0.09648437798023224, 0.09789063036441803,
        0.09929687529802322, 0.103515625, 0.11054687201976776, 0.11757812649011612, 0.12460937350988388, 0.13164061307907104,
        0.138671875, 0.14570313692092896, 0.15273436903953552, 0.15976563096046448, 0.16679686307907104, 0.173828125,
        0.18085938692092896, 0.18789061903953552, 0.19492188096046448, 0.20195311307907104, 0.208984375, 0.21601563692092896,
        0.22304686903953552, 0.23007813096046448, 0.23710936307907104, 0.244140625, 0.25117185711860657, 0.2582031190395355,
        0.2652343809604645, 0.27226561307907104, 0.279296875, 0.28632813692092896, 0.2933593690395355, 0.3003906011581421,
        0.30742186307907104, 0.314453125, 0.32148438692092896, 0.3285156190395355, 0.3355468511581421, 0.34257811307907104,
        0.349609375, 0.35664063692092896, 0.3636718690395355, 0.3707031011581421, 0.37773436307907104, 0.384765625,
        0.39179688692092896, 0.3988281190395355, 0.4058593511581421, 0.41289061307907104, 0.419921875, 0.42695313692092896,
        0.4339843690395355, 0.4410156011581421, 0.44804686307907104, 0.455078125, 0.46210938692092896, 0.4691406190395355,
        0.4761718511581421, 0.48320311307907104, 0.490234375, 0.49726560711860657, 0.5042968988418579, 0.5113281011581421,
        0.518359363079071, 0.525390625, 0.5324218273162842, 0.5394531488418579, 0.5464843511581421, 0.5535156726837158,
        0.560546875, 0.567578136920929, 0.5746093988418579, 0.5816406011581421, 0.5886719226837158, 0.595703125,
        0.602734386920929, 0.6097656488418579, 0.6167968511581421, 0.6238281726837158, 0.630859375, 0.637890636920929,
        0.6449218988418579, 0.6519531011581421, 0.6589844226837158, 0.666015625, 0.673046886920929, 0.6800781488418579,
        0.6871093511581421, 0.6941406726837158, 0.701171875, 0.708203136920929, 0.7152343988418579, 0.7222656011581421,
        0.7292969226837158, 0.736328125, 0.743359386920929, 0.7503906488418579, 0.7574218511581421, 0.7644531726837158,
        0.771484375, 0.7785155773162842, 0.7855468988418579, 0.7925781011581421, 0.7996094226837158, 0.806640625,
        0.8136718273162842, 0.8207031488418579, 0.8277343511581421, 0.8347656726837158, 0.841796875, 0.8488280773162842,
        0.8558593988418579, 0.8628906011581421, 0.8699219226837158, 0.876953125, 0.8839843273162842, 0.8910156488418579,
        0.8980468511581421, 0.9050781726837158, 0.912109375, 0.9191405773162842, 0.9261718988418579, 0.9332031011581421,
        0.9402344226837158, 0.947265625, 0.9542968273162842, 0.9613281488418579, 0.9683593511581421, 0.9753906726837158,
        0.982421875, 0.9894530773162842, 0.9964843988418579, 1.0,
    ]
    private static let int4SignedValues: [Float] = [
        -0.887499988079071, -0.6625000238418579, -0.4375, -0.21249999105930328, -0.07750000059604645, -0.0325000025331974,
        -0.005499999970197678, 0.0, 0.005499999970197678, 0.0325000025331974, 0.07750000059604645, 0.21249999105930328,
        0.4375, 0.6625000238418579, 0.887499988079071, 1.0,
    ]
    private static let int4UnsignedValues: [Float] = [
        0.0625, 0.125, 0.1875, 0.25, 0.3125, 0.375,
        0.4375, 0.5, 0.5625, 0.625, 0.6875, 0.75,
        0.8125, 0.875, 0.9375, 1.0,
    ]
}
