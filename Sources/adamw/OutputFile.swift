#if canImport(Glibc)
import CommandSupport
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Checkpoints
import Foundation

/// A file a command will write (`--save`, `--metrics-out`), checked before any work starts.
///
/// A command writes only where a regular file is or where none is: a device, a FIFO, a socket or a folder at the
/// path is refused, never replaced (as root, `--save /dev/null` would otherwise replace the machine's /dev/null).
/// A symbolic link is refused too, with the file it points to named: replacing a checkpoint atomically replaces
/// the link itself, so writing "through" it would silently break it; give the target's path instead. The folder
/// must exist and be writable, and an existing file must be writable. A file the command reads (its data, a
/// checkpoint it resumes) is refused by identity (device and inode), however the path reaches it. Every refusal is
/// one line naming the flag, the path and the reason.
enum OutputFile {
    /// Throws a ``Refusal`` unless `path` (given as `flag`) may be written; `inputs` (flag, path) are files the
    /// command reads, which it must not overwrite.
    static func check(_ path: String, flag: String, inputs: [(flag: String, path: String)] = []) throws {
        guard !path.isEmpty else { throw Refusal("\(flag) needs a file name") }
        if let input = FileIdentity.input(among: inputs, sameAs: path) {
            throw Refusal("\(flag) \(path) is the same file as \(input.flag) \(input.path): refusing to overwrite an input")
        }
        var status = stat()
        if lstat(path, &status) == 0 {
            let kind = status.st_mode & S_IFMT
            if kind == S_IFLNK {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                throw Refusal("\(flag) \(path) is a symbolic link (to \(target)): give the file's own path; "
                              + "a link is not replaced")
            }
            guard kind == S_IFREG else {
                throw Refusal("\(flag) \(path) is \(describe(kind)), not a regular file: refusing to replace it")
            }
            guard access(path, W_OK) == 0 else { throw Refusal("\(flag) \(path) is not writable (permission denied)") }
            return
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var folderStatus = stat()
        guard stat(folder, &folderStatus) == 0 else {
            throw Refusal("\(flag) \(path): the folder \(folder) does not exist")
        }
        guard folderStatus.st_mode & S_IFMT == S_IFDIR else {
            throw Refusal("\(flag) \(path): \(folder) is not a folder")
        }
        guard access(folder, W_OK) == 0 else {
            throw Refusal("\(flag) \(path): the folder \(folder) is not writable (permission denied)")
        }
    }

    /// Throws a ``Refusal`` when two outputs name the same file (after resolving `.`/`..` and the folder's links).
    static func checkDistinct(_ outputs: [(flag: String, path: String)]) throws {
        var seen: [String: String] = [:]
        for (flag, path) in outputs {
            let key = canonical(path)
            if let first = seen[key] { throw Refusal("\(first) and \(flag) name the same file \(path)") }
            seen[key] = flag
        }
    }

    private static func canonical(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let resolved = realpath(folder, &buffer).map { String(cString: $0) } ?? folder
        return resolved + "/" + url.lastPathComponent
    }

    private static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: "a folder"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        default: "a special file"
        }
    }
}
