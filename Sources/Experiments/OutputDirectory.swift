#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Checkpoints
import Foundation
import Training

/// The folder an experiment writes its CSV and SVG files to, created if needed. Each file is written whole to a
/// temporary name and renamed (``Checkpoints/AtomicFile``), so an interrupted run never leaves half a figure; a
/// file is written only where a regular file is or none is (a link, device or FIFO of that name is refused, not
/// replaced), and never over a file the experiment reads.
public struct OutputDirectory: Sendable {
    public let path: String

    /// The files the experiment reads (flag, path), which no output may replace.
    public let inputs: [(flag: String, path: String)]

    /// The folder at `path`, checked before any work for the `files` the experiment will write in it.
    /// - Throws: ``ExperimentError/cannotWrite(path:reason:)`` when the folder cannot be created or written, or
    ///   one of `files` is not a regular file or is one of `inputs` (by identity: through any link or spelling).
    public init(_ path: String, files: [String] = [], inputs: [(flag: String, path: String)] = []) throws {
        // A link to a folder is that folder (its files are written in it, never replacing the link).
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFDIR {
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
        self.inputs = inputs
        for name in files { try check((path as NSString).appendingPathComponent(name)) }
    }

    private func check(_ file: String) throws {
        var status = stat()
        if lstat(file, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            throw ExperimentError.cannotWrite(path: file, reason: "it is not a regular file; refusing to replace it")
        }
        if let input = FileIdentity.input(among: inputs, sameAs: file) {
            throw ExperimentError.cannotWrite(path: file, reason: "it is the same file as \(input.flag) \(input.path); refusing to overwrite an input")
        }
    }

    /// Writes `text` to the file `name` in the folder and returns its path.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try check(file)
        do {
            try AtomicFile.write(text, to: file)
        } catch {
            throw ExperimentError.cannotWrite(path: file, reason: "cannot be written (\(error))")
        }
        return file
    }

    /// The last system error, in the system's words.
    private static func reason() -> String { String(cString: strerror(errno)) }
}
