import Checkpoints
import Foundation
import TestSupport
import Testing

/// The temporary a write goes through: a name that always fits, checks that fail before any work, and temporaries
/// of dead writers removed.
struct AtomicFileTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aTemporaryNameFitsWhateverTheTargetsLength() throws {
        let folder = try Self.folder()
        // 255 bytes of names: ASCII, and four-byte characters that must not be cut in half.
        for name in [String(repeating: "a", count: 255), String(repeating: "😀", count: 63) + "abc", "run.safetensors"] {
            let temporary = AtomicFile.temporaryPath(for: folder.appendingPathComponent(name).path, pid: .max, nonce: .max)
            let last = URL(fileURLWithPath: temporary).lastPathComponent
            #expect(last.utf8.count <= 255, "\(last.utf8.count) bytes")
            #expect(last.hasPrefix(".") && last.hasSuffix(".tmp-\(Int32.max)-\(UInt32.max)"))
            #expect(String(decoding: Array(last.utf8), as: UTF8.self) == last, "whole characters")
            try AtomicFile.write("x", to: folder.appendingPathComponent(name).path)
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)).count == 3, "no temporary is left")
        #expect(InterruptCleanup.registered.isEmpty, "a finished write leaves nothing to clean")
    }

    @Test func aPathThatCannotBeWrittenIsRefusedBeforeAnyWork() throws {
        let folder = try Self.folder()
        try AtomicFile.checkWritable(folder.appendingPathComponent(String(repeating: "a", count: 255)).path)
        #expect(throws: AtomicFile.Failure.self) {
            try AtomicFile.checkWritable(folder.appendingPathComponent(String(repeating: "a", count: 256)).path)
        }
        #expect(throws: AtomicFile.Failure.self) { try AtomicFile.checkWritable("/proc/run.safetensors") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "a check leaves nothing behind")
    }

    @Test func onlyTemporariesOfDeadProcessesAreRemoved() throws {
        let folder = try Self.folder()
        let dead = try deadProcessIdentifier()
        let target = folder.appendingPathComponent("run.safetensors").path
        let names = [".run.safetensors.tmp-\(dead)-12", ".run.safetensors.tmp-\(getpid())-13",
                     ".run.safetensors.tmp-\(dead)-x", ".other.tmp-\(dead)-14"]
        for name in names {
            #expect(FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data()))
        }
        #expect(AtomicFile.removeStaleTemporaries(of: target) == 1)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == Set(names.dropFirst()))
    }
}
