import CZlib
import Foundation
import Kernels

/// A file in the IDX format of the MNIST distribution, raw or gzip-compressed: a big-endian header (two zero
/// bytes, a type byte, a dimension count, then each dimension as a 32-bit integer) followed by the data.
///
/// Only unsigned bytes (type 0x08) are supported, which is what MNIST uses. Every problem — a missing or
/// unreadable file, a broken or truncated gzip stream, a wrong magic number, a header whose dimensions disagree
/// with the data — throws a ``DatasetError`` that names the file.
///
/// The content lives in huge-page-aligned memory (``Kernels/AlignedBytes``) and is decompressed straight into it.
public struct IDXFile: Sendable {
    /// The file's path.
    public let path: String
    /// The magic number: 0x00000800 + the number of dimensions for unsigned bytes (0x803 for MNIST images).
    public let magic: UInt32
    /// The dimensions from the header, outermost first.
    public let dimensions: [Int]
    /// The whole content, header included.
    public let storage: AlignedBytes
    /// Where the data starts in ``storage``.
    public let dataOffset: Int
    /// The number of data bytes: the product of the dimensions.
    public let dataCount: Int

    /// The data, row-major, one byte per element; valid as long as ``storage`` is.
    public var data: UnsafeBufferPointer<UInt8> { storage.buffer(from: dataOffset, length: dataCount) }

    /// The data as an Array (a copy).
    public var bytes: [UInt8] { Array(data) }

    /// Reads and checks the file at `path`, decompressing it if it starts with gzip's magic bytes — or reading the
    /// copy that `cache` keeps of its content, and keeping one after inflating it.
    public init(path: String, cache: DecompressedCache? = .standard) throws(DatasetError) {
        let raw: Data
        do {
            raw = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(path: path, contents: raw, cache: cache)
    }

    /// Checks a file's contents already in memory (`path` names it in errors), decompressing them if they start
    /// with gzip's magic bytes (through `cache` when one is given).
    public init(path: String, contents raw: Data, cache: DecompressedCache? = nil) throws(DatasetError) {
        let storage: AlignedBytes, length: Int
        if raw.starts(with: [0x1f, 0x8b]) {
            let trailer = DecompressedCache.trailer(of: raw)
            if let cache, let trailer, let copy = cache.read(path, crc: trailer.crc, length: trailer.length) {
                (storage, length) = (copy, trailer.length)
            } else {
                (storage, length) = try Self.gunzip(raw, path: path)  // zlib checks the trailer's CRC-32 and length
                if let cache, let trailer, trailer.length == length {
                    cache.write(storage.buffer(length: length), of: path, crc: trailer.crc)
                }
            }
        } else {
            (storage, length) = try Self.copy(raw, path: path)
        }
        try self.init(path: path, storage: storage, length: length)
    }

    /// Parses IDX content already in memory (used by tests).
    public init(path: String, content: [UInt8]) throws(DatasetError) {
        guard let storage = AlignedBytes(count: content.count, zeroed: false) else {
            throw .unreadable(path: path, reason: "out of memory")
        }
        content.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.pointer.update(from: base, count: source.count) }
        }
        try self.init(path: path, storage: storage, length: content.count)
    }

    private init(path: String, storage: AlignedBytes, length: Int) throws(DatasetError) {
        let content = storage.buffer(length: length)
        guard content.count >= 4 else {
            throw .truncated(path: path, expectedBytes: 4, actualBytes: content.count)
        }
        guard content[0] == 0, content[1] == 0 else {
            throw .badMagic(path: path, found: Self.bigEndian(content, at: 0), expected: 0x0000_0800)
        }
        guard content[2] == 0x08 else {
            throw .unsupportedFormat(
                path: path, reason: "element type 0x\(String(content[2], radix: 16)) is not unsigned byte (0x08)")
        }
        let rank = Int(content[3])
        guard rank >= 1 else { throw .unsupportedFormat(path: path, reason: "no dimensions") }
        let headerBytes = 4 + 4 * rank
        guard content.count >= headerBytes else {
            throw .truncated(path: path, expectedBytes: headerBytes, actualBytes: content.count)
        }
        let dimensions = (0..<rank).map { Int(Self.bigEndian(content, at: 4 + 4 * $0)) }
        let (elements, overflow) = dimensions.reduce((1, false)) { partial, dimension in
            let product = partial.0.multipliedReportingOverflow(by: dimension)
            return (product.partialValue, partial.1 || product.overflow)
        }
        guard !overflow else { throw .unsupportedFormat(path: path, reason: "dimensions \(dimensions) overflow") }
        guard content.count - headerBytes >= elements else {
            throw .truncated(path: path, expectedBytes: elements, actualBytes: content.count - headerBytes)
        }
        guard content.count - headerBytes == elements else {
            throw .unsupportedFormat(path: path, reason: "\(content.count - headerBytes - elements) bytes after the data")
        }
        self.path = path
        self.magic = Self.bigEndian(content, at: 0)
        self.dimensions = dimensions
        self.storage = storage
        self.dataOffset = headerBytes
        self.dataCount = elements
    }

    static func bigEndian(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        (UInt32(bytes[offset]) << 24) | (UInt32(bytes[offset + 1]) << 16) | (UInt32(bytes[offset + 2]) << 8)
            | UInt32(bytes[offset + 3])
    }

    static func copy(_ raw: Data, path: String) throws(DatasetError) -> (AlignedBytes, Int) {
        guard let storage = AlignedBytes(count: raw.count, zeroed: false) else {
            throw .unreadable(path: path, reason: "out of memory")
        }
        raw.copyBytes(to: storage.pointer, count: raw.count)
        return (storage, raw.count)
    }

    /// Inflates a gzip member with the system zlib, which also checks the CRC and length in the trailer.
    static func gunzip(_ compressed: Data, path: String) throws(DatasetError) -> (AlignedBytes, Int) {
        // The trailer's last four bytes hold the uncompressed size modulo 2³²: the buffer's first size.
        let trailerSize = compressed.count >= 18
            ? Int(compressed[compressed.count - 4]) | Int(compressed[compressed.count - 3]) << 8
                | Int(compressed[compressed.count - 2]) << 16 | Int(compressed[compressed.count - 1]) << 24
            : 0
        // Deflate expands at most ~1032:1, so a trailer claiming more is a lie; trusting it would let a tiny file
        // allocate gigabytes. Larger real outputs still fit: the buffer grows.
        let plausible = min(trailerSize, compressed.count * 1032 + (1 << 16))
        guard var output = AlignedBytes(count: max(plausible, 1 << 16) + 1, zeroed: false) else {
            throw .unreadable(path: path, reason: "out of memory")
        }
        var stream = z_stream()
        // 15 + 16: a gzip wrapper (not raw deflate, not zlib).
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .gzip(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var produced = 0
        var status: Int32 = Z_OK
        var outOfMemory = false
        compressed.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            while status == Z_OK {
                if produced == output.count {
                    // The trailer lied (a file over 4 GiB, or a corrupt one): grow and keep going.
                    guard let larger = AlignedBytes(count: output.count * 2, zeroed: false) else {
                        outOfMemory = true
                        return
                    }
                    larger.pointer.update(from: output.pointer, count: produced)
                    output = larger
                }
                stream.next_out = output.pointer + produced
                stream.avail_out = uInt(min(output.count - produced, Int(UInt32.max)))
                let before = stream.avail_out
                status = inflate(&stream, Z_NO_FLUSH)
                produced += Int(before - stream.avail_out)
                if status == Z_BUF_ERROR && stream.avail_in == 0 { break }
                if status == Z_BUF_ERROR { status = Z_OK }
            }
        }
        if outOfMemory { throw .unreadable(path: path, reason: "out of memory") }
        switch status {
        case Z_STREAM_END:
            guard stream.avail_in == 0 else {
                throw .gzip(path: path, reason: "\(stream.avail_in) bytes follow the end of the gzip stream")
            }
            return (output, produced)
        case Z_OK, Z_BUF_ERROR:
            throw .gzip(path: path, reason: "the stream ends early (truncated file)")
        default:
            let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw .gzip(path: path, reason: message)
        }
    }
}
