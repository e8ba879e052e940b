/// One state buffer of one parameter: how it is stored and its memory. ``values`` gives its elements as float32
/// whatever the storage; a checkpoint keeps the stored form (``words`` and ``scales``).
public struct StateBuffer: Sendable, Equatable {
    /// How the elements are kept: float32, bfloat16, or block-quantized codes with ``map``.
    public let storage: StateStorage
    /// The code book of quantized storage; nil otherwise.
    public let map: QuantizationMap?
    /// The number of elements (the parameter's).
    public let count: Int
    /// The stored words: float32 values, two bfloat16 values a word (the first in the low half), or codes (four
    /// 8-bit or eight 4-bit codes a word, in byte order, a 4-bit pair's first element in the high half).
    public internal(set) var words: FloatBuffer
    /// One float32 scale per block (quantized storage only).
    public internal(set) var scales: FloatBuffer?

    /// Equal storage, maps and stored bits (words compared as bytes: codes read as floats can look like NaNs).
    public static func == (a: StateBuffer, b: StateBuffer) -> Bool {
        func bytes(_ buffer: FloatBuffer) -> [UInt8] { buffer.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) } }
        return a.storage == b.storage && a.map == b.map && a.count == b.count && bytes(a.words) == bytes(b.words)
            && a.scales.map(bytes) == b.scales.map(bytes)
    }

    /// The safetensors dtype of ``words``.
    public var elementType: StateElementType { StateElementType(storage) }

    init(float32 values: FloatBuffer) {
        storage = .float32
        map = nil
        count = values.count
        words = values
        scales = nil
    }

    /// A buffer of `storage` over memory already laid out for it (`words` and, when quantized, `scales`).
    init(storage: StateStorage, map: QuantizationMap?, count: Int, words: FloatBuffer, scales: FloatBuffer?) {
        self.storage = storage
        self.map = map
        self.count = count
        self.words = words
        self.scales = scales
    }

    /// The map `buffer` uses in a quantized storage: the signed map for a buffer of values of either sign (Adam's
    /// first moment), the unsigned one for the others (v and v̂max are never negative).
    public static func map(for buffer: StateBufferDeclaration, in storage: StateStorage) -> QuantizationMap? {
        buffer.isSigned ? storage.signedMap : storage.unsignedMap
    }

    /// The elements as float32: the values themselves, bfloat16 widened, or each code's map value times its
    /// block's scale.
    public var values: FloatBuffer {
        switch storage {
        case .float32:
            return words.withUnsafeBufferPointer { FloatBuffer(copying: $0) }
        case .bfloat16:
            return words.withUnsafeBufferPointer { source in
                let halves = UnsafeRawPointer(source.baseAddress).map { $0.assumingMemoryBound(to: UInt16.self) }
                return FloatBuffer((0..<count).map { i in halves.map { BFloat16.value($0[i]) } ?? 0 })
            }
        case .int8, .int4:
            guard let map, let scales else { return FloatBuffer(count: count) }
            return words.withUnsafeBufferPointer { source in
                scales.withUnsafeBufferPointer { scale in
                    let bytes = UnsafeRawBufferPointer(source)
                    return FloatBuffer((0..<count).map { i in
                        map.values[Self.code(at: i, in: bytes, bits: map.bits)] * scale[i / map.blockSize]
                    })
                }
            }
        }
    }

    /// Code `i` of `bytes` holding `bits`-bit codes.
    static func code(at i: Int, in bytes: UnsafeRawBufferPointer, bits: Int) -> Int {
        bits == 8 ? Int(bytes[i]) : Int(i % 2 == 0 ? bytes[i / 2] >> 4 : bytes[i / 2] & 15)
    }

    /// The buffer `name` of `count` elements holding `values` in `storage` (its fallback for the count applied;
    /// float32 for a buffer that does not follow its group's storage): rounded to bfloat16, or quantized block by
    /// block as a step stores state. Memory of its own.
    public static func encoding(_ values: FloatBuffer, as storage: StateStorage, buffer: StateBufferDeclaration) -> StateBuffer {
        let count = values.count
        let storage = buffer.storage(in: storage).storage(forCount: count)
        switch storage {
        case .float32:
            return StateBuffer(float32: values.withUnsafeBufferPointer { FloatBuffer(copying: $0) })
        case .bfloat16:
            var words = FloatBuffer(count: storage.codeWords(forCount: count))
            words.withUnsafeMutableBufferPointer { target in
                let halves = UnsafeMutableRawPointer(target.baseAddress).map { $0.assumingMemoryBound(to: UInt16.self) }
                values.withUnsafeBufferPointer { source in
                    for i in 0..<count { halves?[i] = BFloat16.bits(source[i]) }
                }
            }
            return StateBuffer(storage: .bfloat16, map: nil, count: count, words: words, scales: nil)
        case .int8, .int4:
            guard let map = map(for: buffer, in: storage) else { return StateBuffer(float32: values) }
            var words = FloatBuffer(count: storage.codeWords(forCount: count))
            var scales = FloatBuffer(count: storage.scaleCount(forCount: count))
            words.withUnsafeMutableBufferPointer { target in
                scales.withUnsafeMutableBufferPointer { scale in
                    values.withUnsafeBufferPointer { source in
                        let bytes = UnsafeMutableRawBufferPointer(target)
                        for block in 0..<scale.count {
                            let range = (block * map.blockSize)..<min(count, (block + 1) * map.blockSize)
                            let blockScale = QuantizationMap.scale(of: UnsafeBufferPointer(rebasing: source[range]))
                            scale[block] = blockScale
                            for i in range {
                                let code = UInt8(map.code(of: source[i] / blockScale))
                                if map.bits == 8 {
                                    bytes[i] = code
                                } else if i % 2 == 0 {
                                    bytes[i / 2] = code << 4 | (bytes[i / 2] & 15)
                                } else {
                                    bytes[i / 2] = (bytes[i / 2] & 0xF0) | code
                                }
                            }
                        }
                    }
                }
            }
            return StateBuffer(storage: storage, map: map, count: count, words: words, scales: scales)
        }
    }

    /// This buffer in `storage` (for `count`, its fallback applied; float32 for a buffer that does not follow its
    /// group's storage): itself when it is stored so already, else its values encoded anew.
    func converted(to storage: StateStorage, buffer: StateBufferDeclaration) -> StateBuffer {
        buffer.storage(in: storage).storage(forCount: count) == self.storage
            ? self : Self.encoding(values, as: storage, buffer: buffer)
    }

    /// This buffer with its memory of its own.
    func copy() -> StateBuffer {
        StateBuffer(storage: storage, map: map, count: count,
                    words: words.withUnsafeBufferPointer { FloatBuffer(copying: $0) },
                    scales: scales.map { scales in scales.withUnsafeBufferPointer { FloatBuffer(copying: $0) } })
    }
}
