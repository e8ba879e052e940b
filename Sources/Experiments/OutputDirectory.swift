#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The folder an experiment writes its CSV and SVG files to, created if needed. Each file is written whole to a
/// temporary name and renamed, so an interrupted run never leaves half a figure; a file is written only where a
/// regular file is or none is (a link, device or FIFO of that name is refused, not replaced).
public struct OutputDirectory: Sendable {
    public let path: String

    /// - Throws: ``ExperimentError/cannotWrite(path:reason:)`` when the folder cannot be created or written.
    public init(_ path: String) throws {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFDIR {
            throw ExperimentError.cannotWrite(path: path, reason: "it is not a folder")
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ExperimentError.cannotWrite(path: path, reason: "the folder cannot be created (\(Self.reason()))")
        }
        guard access(path, W_OK) == 0 else {
            throw ExperimentError.cannotWrite(path: path, reason: "the folder is not writable")
        }
        self.path = path
    }

    /// Writes `text` to the file `name` in the folder and returns its path.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        var status = stat()
        if lstat(file, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            throw ExperimentError.cannotWrite(path: file, reason: "it is not a regular file; refusing to replace it")
        }
        do {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            throw ExperimentError.cannotWrite(path: file, reason: "cannot be written (\(Self.reason()))")
        }
        return file
    }

    /// The last system error, in the system's words.
    private static func reason() -> String { String(cString: strerror(errno)) }
}
