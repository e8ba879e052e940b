import Datasets
import Foundation
import Testing

/// The IDX reader on good files and on every kind of bad one: each error names the file and the problem.
struct IDXFileTests {
    /// An IDX header for unsigned bytes with these dimensions, followed by `data`.
    static func idx(_ dimensions: [UInt32], magicType: UInt8 = 0x08, data: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, magicType, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
        return bytes + data
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idx-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// gzip-compresses `bytes` with the system's gzip.
    static func gzip(_ bytes: [UInt8], at url: URL) throws {
        let raw = url.deletingPathExtension()
        try Data(bytes).write(to: raw)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-n", "-f", raw.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func readsRawAndGzippedFiles() throws {
        let directory = try Self.temporaryDirectory()
        let content = Self.idx([2, 3], data: [1, 2, 3, 4, 5, 6])
        let raw = directory.appendingPathComponent("m.idx")
        try Data(content).write(to: raw)
        let parsed = try IDXFile(path: raw.path)
        #expect(parsed.dimensions == [2, 3] && parsed.magic == 0x0802 && parsed.bytes == [1, 2, 3, 4, 5, 6])
        let compressed = directory.appendingPathComponent("g.idx.gz")
        try Self.gzip(content, at: compressed)
        let unzipped = try IDXFile(path: compressed.path)
        #expect(unzipped.dimensions == [2, 3] && unzipped.bytes == [1, 2, 3, 4, 5, 6])
    }

    @Test func refusesBadContent() {
        let cases: [([UInt8], String)] = [
            ([0, 0], "t: truncated: the header promises 4 bytes of data, the file has 2"),
            ([1, 0, 8, 1, 0, 0, 0, 0], "t: wrong magic number 0x01000801, expected 0x00000800"),
            ([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], "t: unsupported IDX file: element type 0xd is not unsigned byte (0x08)"),
            ([0, 0, 8, 2, 0, 0, 0, 2], "t: truncated: the header promises 12 bytes of data, the file has 8"),
            (Self.idx([2, 3], data: [1, 2, 3]), "t: truncated: the header promises 6 bytes of data, the file has 3"),
            (Self.idx([2], data: [1, 2, 3]), "t: unsupported IDX file: 1 bytes after the data"),
            ([0, 0, 8, 0], "t: unsupported IDX file: no dimensions"),
        ]
        for (content, message) in cases {
            #expect(throws: DatasetError.self) { try IDXFile(path: "t", content: content) }
            do {
                _ = try IDXFile(path: "t", content: content)
            } catch {
                #expect(error.description == message)
            }
        }
    }

    @Test func refusesBrokenGzipStreams() throws {
        let directory = try Self.temporaryDirectory()
        let good = directory.appendingPathComponent("good.idx.gz")
        try Self.gzip(Self.idx([100], data: (0..<100).map { UInt8($0) }), at: good)
        let compressed = try [UInt8](Data(contentsOf: good))
        let variants: [(String, [UInt8])] = [
            ("truncated", Array(compressed.prefix(compressed.count / 2))),
            ("crc", compressed.enumerated().map { $0.offset == compressed.count - 6 ? $0.element ^ 0xff : $0.element }),
            ("trailing", compressed + [1, 2, 3]),
            ("garbage", [0x1f, 0x8b] + Array(repeating: 0xAB, count: 40)),
        ]
        for (name, bytes) in variants {
            let url = directory.appendingPathComponent("\(name).idx.gz")
            try Data(bytes).write(to: url)
            do {
                _ = try IDXFile(path: url.path)
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.description.hasPrefix("\(url.path): "), "\(name): \(error)")
                if case .gzip = error {} else { Issue.record("\(name): \(error) is not a gzip error") }
            }
        }
        #expect(throws: DatasetError.self) { try IDXFile(path: directory.appendingPathComponent("missing").path) }
    }

    /// Found by the fuzzer: a 51-byte gzip stream whose trailer claims 3.8 GB made the reader allocate all of it.
    @Test func aLyingGzipTrailerDoesNotAllocateWhatItClaims() throws {
        let input = try #require(Data(base64Encoded: "H4sIAAAAAAACA2Ng4GBmYGBgAmJmEGZkYmZhZWPn4OTi5uHl4xcQBADTZGJmYeDk4g=="))
        #expect(throws: DatasetError.self) { try IDXFile(path: "fuzz", contents: input) }
    }

    /// The first read inflates and keeps a copy named by the content; the next read uses it (even when the
    /// compressed body is damaged, since the copy is checked against the trailer's CRC-32); a damaged copy is
    /// never used but replaced; without a cache, or with one that cannot be written, reading still works.
    @Test func aDecompressedCopyIsKeptCheckedAndReplaced() throws {
        let directory = try Self.temporaryDirectory()
        let cache = DecompressedCache(directory: directory.appendingPathComponent("cache").path)
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let file = directory.appendingPathComponent("d.idx.gz")
        try Self.gzip(Self.idx([50, 100], data: data), at: file)
        #expect(try IDXFile(path: file.path, cache: cache).bytes == data)
        let copies = try FileManager.default.contentsOfDirectory(atPath: cache.directory)
        #expect(copies.count == 1 && copies[0].hasPrefix("d.idx-") && copies[0].hasSuffix("-5012"), "\(copies)")
        let copy = URL(fileURLWithPath: cache.directory).appendingPathComponent(copies[0])

        // A damaged body with an intact trailer: the checked copy is what is read.
        var compressed = try [UInt8](Data(contentsOf: file))
        compressed[compressed.count / 2] ^= 0x55
        try Data(compressed).write(to: file)
        #expect(try IDXFile(path: file.path, cache: cache).bytes == data)
        #expect(throws: DatasetError.self) { try IDXFile(path: file.path, cache: nil) }

        // A damaged copy is refused by its CRC-32, and replaced after inflating the (again intact) file.
        try Self.gzip(Self.idx([50, 100], data: data), at: file)
        var stale = try [UInt8](Data(contentsOf: copy))
        stale[4000] ^= 1
        try Data(stale).write(to: copy)
        #expect(try IDXFile(path: file.path, cache: cache).bytes == data)
        #expect(try [UInt8](Data(contentsOf: copy)) == Self.idx([50, 100], data: data))

        // No cache, or one that cannot be created: the file is simply inflated.
        #expect(try IDXFile(path: file.path, cache: nil).bytes == data)
        let blocked = DecompressedCache(directory: "/proc/no-cache-here")
        #expect(try IDXFile(path: file.path, cache: blocked).bytes == data)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.directory).count == 1, "no temporary files")
    }
}
