/// CRC-32 (IEEE 802.3, the polynomial of zlib and gzip), table-driven, eight bytes at a time. It detects every
/// single-bit error and every burst of up to 32 bits: what a checkpoint's checksum is for.
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0xFFFF_FFFF

    public init() {}

    static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            tables[0][n] = c
        }
        for n in 0..<256 {
            for k in 1..<8 { tables[k][n] = (tables[k - 1][n] >> 8) ^ tables[0][Int(tables[k - 1][n] & 0xFF)] }
        }
        return tables
    }()

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = value
        var index = 0
        let t = Self.tables
        // Slicing-by-8: one 64-bit load and eight table lookups per eight bytes.
        while index + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self).littleEndian
            let low = UInt32(truncatingIfNeeded: word) ^ crc, high = UInt32(truncatingIfNeeded: word >> 32)
            crc = t[7][Int(low & 0xFF)] ^ t[6][Int(low >> 8 & 0xFF)] ^ t[5][Int(low >> 16 & 0xFF)] ^ t[4][Int(low >> 24)]
                ^ t[3][Int(high & 0xFF)] ^ t[2][Int(high >> 8 & 0xFF)] ^ t[1][Int(high >> 16 & 0xFF)] ^ t[0][Int(high >> 24)]
            index += 8
        }
        while index < bytes.count {
            crc = t[0][Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
            index += 1
        }
        value = crc
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public var checksum: UInt32 { value ^ 0xFFFF_FFFF }

    /// The checksum as eight lowercase hexadecimal digits.
    public var hex: String {
        let digits = String(checksum, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
