#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file as the system knows it: its device and inode. Two paths name the same file exactly when their
/// identities are equal, whatever the spelling (`./`, `..`), hard links or symbolic links to it or to a folder on
/// the way, so this is how an output is compared with the inputs it must not overwrite.
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    /// The identity of the file at `path` (links followed), or nil when there is none.
    public init?(path: String) {
        var status = stat()
        guard !path.isEmpty, stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }

    /// The first of `inputs` (flag, path) that is the same file as `path`, or nil.
    public static func input(among inputs: [(flag: String, path: String)], sameAs path: String) -> (flag: String, path: String)? {
        guard let identity = FileIdentity(path: path) else { return nil }
        return inputs.first { FileIdentity(path: $0.path) == identity }
    }
}
