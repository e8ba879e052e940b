#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Kernels

/// A file replaced whole or not at all: the bytes go to a temporary file in the same folder, are flushed to disk,
/// and the temporary is renamed over the target, so a crash leaves the old file or the new one, never half of one.
///
/// The temporary is `.<name>.tmp-<pid>-<nonce>` beside the target, the name shortened (at a character boundary)
/// so that the whole fits in the 255 bytes a file name may take; a legal target name therefore always has a legal
/// temporary. While it exists it is registered with ``InterruptCleanup``, which removes it when SIGINT, SIGTERM
/// or SIGHUP ends the process; ``removeStaleTemporaries(of:)`` removes those of processes that died otherwise.
public enum AtomicFile {
    /// Why a file could not be written: the operation that failed, in the system's words.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The longest file name most file systems take, in bytes (NAME_MAX).
    static let nameLimit = 255
    /// The bytes of the target's name kept in a temporary's name: 255 less the dot, `.tmp-`, a pid and a nonce.
    static let keptNameBytes = nameLimit - 1 - 5 - 10 - 1 - 10

    /// The temporary that a write of `path` by process `pid` uses, with `nonce`.
    public static func temporaryPath(for path: String, pid: Int32, nonce: UInt32) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(
            "\(temporaryPrefix(of: url.lastPathComponent))\(pid)-\(nonce)").path
    }

    /// `.<name, shortened>.tmp-`: what every temporary of a file named `name` starts with.
    static func temporaryPrefix(of name: String) -> String {
        var kept = ""
        var bytes = 0
        for character in name.unicodeScalars {
            let size = String(character).utf8.count
            guard bytes + size <= keptNameBytes else { break }
            kept.unicodeScalars.append(character)
            bytes += size
        }
        return ".\(kept).tmp-"
    }

    /// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the folder).
    /// - Throws: ``Failure`` naming the failing operation; the target is untouched then and no temporary remains.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws(Failure) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = temporaryPath(for: path, pid: getpid(), nonce: UInt32.random(in: 0...UInt32.max))
        let descriptor = InterruptCleanup.create(temporary)
        guard descriptor >= 0 else { throw Failure("cannot create \(temporary): \(errorText())") }
        defer { InterruptCleanup.unregister(temporary) }
        var failure: String?
        if let base = bytes.baseAddress {
            var written = 0
            while written < bytes.count {
                let result = Glibc.write(descriptor, base + written, bytes.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed: \(errorText())"
                    break
                }
                written += result
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = "fsync failed: \(errorText())" }
        if close(descriptor) != 0 && failure == nil { failure = "close failed: \(errorText())" }
        if failure == nil && rename(temporary, path) != 0 { failure = "rename failed: \(errorText())" }
        if let failure {
            unlink(temporary)
            throw Failure(failure)
        }
        // The rename is durable once the folder's entry is on disk too.
        let folderDescriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Writes `text` as UTF-8 to `path` atomically.
    public static func write(_ text: String, to path: String) throws(Failure) {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(Failure) in try write(UnsafeRawBufferPointer(buffer), to: path) }
        }
        try result.get()
    }

    /// Throws unless a write of `path` could begin: its name fits the file system, and its temporary can be
    /// created in the folder (which a read-only or special file system refuses even where permissions allow).
    /// Nothing is left behind. Call it before work whose result would go to `path`, so that a run fails at the
    /// start rather than after hours of training.
    public static func checkWritable(_ path: String) throws(Failure) {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent
        let folder = url.deletingLastPathComponent().path
        let limit = pathconf(folder.isEmpty ? "." : folder, Int32(_PC_NAME_MAX))
        let nameLimit = limit > 0 ? min(limit, nameLimit) : nameLimit
        guard name.utf8.count <= nameLimit else {
            throw Failure("the file name is \(name.utf8.count) bytes long; the file system takes at most \(nameLimit)")
        }
        guard url.path.utf8.count < Int(PATH_MAX) else {
            throw Failure("the path is \(url.path.utf8.count) bytes long; at most \(Int(PATH_MAX) - 1) are allowed")
        }
        let temporary = temporaryPath(for: path, pid: getpid(), nonce: UInt32.random(in: 0...UInt32.max))
        let descriptor = InterruptCleanup.create(temporary)
        guard descriptor >= 0 else { throw Failure("cannot create a file in \(folder): \(errorText())") }
        close(descriptor)
        unlink(temporary)
        InterruptCleanup.unregister(temporary)
    }

    /// Removes the temporaries of `path` left by processes that no longer run (ended by SIGKILL, a power cut, or
    /// a signal that could not be caught). Returns how many were removed. A temporary of a live process, or a
    /// file that merely resembles one, is left alone.
    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> Int {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let prefix = temporaryPrefix(of: url.lastPathComponent)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(prefix) {
            let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, UInt32(parts[1]) != nil else { continue }
            guard pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let file = (folder as NSString).appendingPathComponent(name)
            var status = stat()
            guard lstat(file, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            if unlink(file) == 0 { removed += 1 }
        }
        return removed
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
