import Foundation

/// The folder an experiment writes its CSV and SVG files to, created if needed. Each file is written whole to a
/// temporary name and renamed, so an interrupted run never leaves half a figure.
public struct OutputDirectory: Sendable {
    public let path: String

    /// - Throws: ``ExperimentError/cannotWrite(path:reason:)`` when the folder cannot be created.
    public init(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ExperimentError.cannotWrite(path: path, reason: (error as NSError).localizedDescription)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ExperimentError.cannotWrite(path: path, reason: "it is not a directory")
        }
        self.path = path
    }

    /// Writes `text` to the file `name` in the folder and returns its path.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        do {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            throw ExperimentError.cannotWrite(path: file, reason: (error as NSError).localizedDescription)
        }
        return file
    }
}
