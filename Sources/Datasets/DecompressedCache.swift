import CZlib
import Foundation
import Kernels

/// A folder of decompressed copies of gzip files, so that a data set is inflated once per machine rather than on
/// every run (torchvision likewise keeps the raw files beside its downloads). Inflating MNIST's 47 MB of training
/// images takes ~0.1 s, a quarter of the whole five-epoch example; reading the copy takes ~0.02 s.
///
/// A copy is named by what it holds — the file's name, and the CRC-32 and length from its gzip trailer — and is
/// used only if its bytes have that CRC-32, so a stale or damaged copy is never read: it is inflated again and
/// replaced. Copies are written whole to a temporary name and renamed. Any failure to read or write the folder
/// only means inflating as if there were no cache.
public struct DecompressedCache: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// `$ADAMW_CACHE_DIR` when set (`off` disables the cache), else `$XDG_CACHE_HOME/adamw`, else
    /// `~/.cache/adamw`; nil without a home directory.
    public static var standard: DecompressedCache? {
        let environment = ProcessInfo.processInfo.environment
        if let chosen = environment["ADAMW_CACHE_DIR"], !chosen.isEmpty {
            return chosen == "off" ? nil : DecompressedCache(directory: chosen)
        }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return DecompressedCache(directory: (xdg as NSString).appendingPathComponent("adamw"))
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return DecompressedCache(directory: (home as NSString).appendingPathComponent(".cache/adamw"))
    }

    /// The CRC-32 and the length (modulo 2³²) of the content, from the last 8 bytes of a gzip file.
    static func trailer(of gzip: Data) -> (crc: UInt32, length: Int)? {
        guard gzip.count >= 18 else { return nil }
        let end = gzip.endIndex
        func word(_ offset: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(gzip[end - offset + $1]) << (8 * UInt32($1)) }
        }
        return (word(8), Int(word(4)))
    }

    /// The path of the copy of `file` (a `.gz` path) with that content.
    func path(of file: String, crc: UInt32, length: Int) -> String {
        var name = (file as NSString).lastPathComponent
        if name.hasSuffix(".gz") { name.removeLast(3) }
        let hex = String(crc, radix: 16)
        return (directory as NSString).appendingPathComponent(
            "\(name)-\(String(repeating: "0", count: 8 - hex.count))\(hex)-\(length)")
    }

    /// The copy's bytes in aligned memory, or nil if there is none of that length and CRC-32.
    func read(_ file: String, crc: UInt32, length: Int) -> AlignedBytes? {
        let copy = path(of: file, crc: crc, length: length)
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: copy), options: .alwaysMapped),
              data.count == length, let storage = AlignedBytes(count: length, zeroed: false) else { return nil }
        data.copyBytes(to: storage.pointer, count: length)
        return Self.crc32(storage.buffer()) == crc ? storage : nil
    }

    /// Stores `bytes` as the copy of `file`, or does nothing if the folder cannot be written.
    func write(_ bytes: UnsafeBufferPointer<UInt8>, of file: String, crc: UInt32) {
        let copy = path(of: file, crc: crc, length: bytes.count)
        let temporary = copy + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil,
              FileManager.default.createFile(atPath: temporary, contents: Data(buffer: bytes))
        else { return }
        if rename(temporary, copy) != 0 { unlink(temporary) }
    }

    static func crc32(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_z(0, bytes.baseAddress, z_size_t(bytes.count)))
    }
}
