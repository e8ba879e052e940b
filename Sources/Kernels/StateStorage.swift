/// How an optimizer keeps a state buffer (Adam's m, v and v̂max) in memory: float32 (4 bytes an element),
/// bfloat16 (2), or block-wise quantized codes with a float32 scale per block, as torchao's `AdamW8bit` (1 byte and
/// 4/256) and `AdamW4bit` (½ byte and 4/128).
///
/// Quantized storage applies to tensors of at least 4096 elements whose count is a multiple of the block size;
/// smaller or ragged tensors keep float32 (bitsandbytes' and torchao's rule): see ``storage(forCount:)``.
public enum StateStorage: String, Sendable, CaseIterable, Codable {
    case float32 = "fp32"
    case bfloat16 = "bf16"
    case int8
    case int4

    /// The map of a signed buffer (m) in this storage; nil unless quantized.
    public var signedMap: QuantizationMap? {
        switch self {
        case .int8: .int8Signed
        case .int4: .int4Signed
        case .float32, .bfloat16: nil
        }
    }

    /// The map of an unsigned buffer (v, v̂max); nil unless quantized.
    public var unsignedMap: QuantizationMap? {
        switch self {
        case .int8: .int8Unsigned
        case .int4: .int4Unsigned
        case .float32, .bfloat16: nil
        }
    }

    /// Elements per scale; nil unless quantized.
    public var blockSize: Int? { signedMap?.blockSize }

    /// Whether the storage is block-wise quantized.
    public var isQuantized: Bool { blockSize != nil }

    /// The smallest tensor kept quantized.
    public static let minimumQuantizedCount = 4096

    /// The storage a tensor of `count` elements actually gets: float32 for a quantized storage when the tensor is
    /// smaller than ``minimumQuantizedCount`` or not a multiple of the block size.
    public func storage(forCount count: Int) -> StateStorage {
        guard let blockSize else { return self }
        return count >= Self.minimumQuantizedCount && count % blockSize == 0 ? self : .float32
    }

    /// The elements a step over `range` updates in this storage: `range` itself, or for a quantized storage the
    /// whole blocks whose first element is in `range` (so that any split of a tensor between threads covers every
    /// block once).
    public func ownedElements(of range: Range<Int>) -> Range<Int> {
        guard let block = blockSize else { return range }
        return (range.lowerBound + block - 1) / block * block..<(range.upperBound + block - 1) / block * block
    }

    /// Bytes of one buffer of `count` elements, scales included (``storage(forCount:)`` applied first).
    public func bytes(forCount count: Int) -> Int {
        let storage = storage(forCount: count)
        return storage.codeWords(forCount: count) * 4 + storage.scaleCount(forCount: count) * 4
    }

    /// The 4-byte words that hold `count` elements' values or codes in this storage (its own, not the fallback).
    public func codeWords(forCount count: Int) -> Int {
        switch self {
        case .float32: count
        case .bfloat16: (count + 1) / 2
        case .int8: (count + 3) / 4
        case .int4: (count + 7) / 8
        }
    }

    /// Scales of a buffer of `count` elements in this storage (0 unless quantized).
    public func scaleCount(forCount count: Int) -> Int {
        guard let blockSize else { return 0 }
        return (count + blockSize - 1) / blockSize
    }
}
