#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Optim

/// A training checkpoint on disk: a ``StateDict`` in safetensors form, which Python's `safetensors` reads, with
/// three entries of its own in `__metadata__`:
///
/// - `format` = `adamw-checkpoint` and `format_version` = `1`;
/// - `crc32`: the CRC-32 of the data bytes and of the header without this entry, so that any flipped bit — in a
///   tensor, a hyperparameter or a shape — is refused.
///
/// The bytes depend only on the state (names are sorted, nothing records the time), so the same run gives the same
/// file. ``write(_:to:)`` is atomic: it writes a temporary file in the same directory, flushes it to disk and renames
/// it over the target, so a crash leaves either the old checkpoint or the new one, never half of one.
public enum CheckpointFile {
    public static let formatName = "adamw-checkpoint"
    public static let formatVersion = "1"
    static let reserved: Set<String> = ["format", "format_version", "crc32"]

    /// The file's bytes for `state`.
    /// - Throws: ``SafeTensorsError/notACheckpoint(_:)`` when the state uses one of the reserved metadata keys, or
    ///   the error of ``SafeTensors/encode(_:metadata:)`` for a tensor it refuses.
    public static func encode(_ state: StateDict) throws(SafeTensorsError) -> [UInt8] {
        if let key = state.metadata.keys.first(where: reserved.contains) {
            throw .notACheckpoint("the state uses the reserved metadata key '\(key)'")
        }
        var metadata = state.metadata
        metadata["format"] = formatName
        metadata["format_version"] = formatVersion
        var crc = CRC32()
        crc.update(canonicalHeader(tensors: state.tensors, metadata: metadata))
        for name in state.tensors.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            state.tensors[name]?.withUnsafeBytes { crc.update($0) }
        }
        metadata["crc32"] = crc.hex
        return try SafeTensors.encode(state.tensors, metadata: metadata)
    }

    /// The state in a checkpoint's bytes.
    /// - Throws: ``SafeTensorsError`` for anything that is not an intact checkpoint of this format.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(SafeTensorsError) -> StateDict {
        let parsed = try SafeTensors.parse(bytes)
        guard parsed.metadata["format"] == formatName else {
            throw .notACheckpoint("the format is '\(parsed.metadata["format"] ?? "missing")'")
        }
        guard parsed.metadata["format_version"] == formatVersion else {
            throw .notACheckpoint("format version '\(parsed.metadata["format_version"] ?? "missing")' (this build reads \(formatVersion))")
        }
        guard let stored = parsed.metadata["crc32"] else { throw .notACheckpoint("no crc32 in the metadata") }
        // The checksum covers the header as the writer made it (minus the checksum) and the data as stored.
        var withoutChecksum = parsed.metadata
        withoutChecksum["crc32"] = nil
        var crc = CRC32()
        let header = SafeTensors.headerObject(
            names: parsed.entries.sorted { $0.begin < $1.begin }.map(\.name),
            tensors: Dictionary(uniqueKeysWithValues: parsed.entries.map {
                ($0.name, StateDict.TensorData(shape: $0.shape, values: FloatBuffer(count: ($0.end - $0.begin + 3) / 4),
                                               elementType: $0.elementType))
            }),
            metadata: withoutChecksum)
        var headerBytes: [UInt8] = []
        header.write(to: &headerBytes)
        crc.update(headerBytes)
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[parsed.dataStart...]))
        guard crc.hex == stored else { throw .checksumMismatch(stored: stored, computed: crc.hex) }
        let (tensors, metadata) = try SafeTensors.decode(bytes)
        return StateDict(tensors: tensors, metadata: metadata.filter { !reserved.contains($0.key) })
    }

    static func canonicalHeader(tensors: [String: StateDict.TensorData], metadata: [String: String]) -> [UInt8] {
        let names = tensors.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var bytes: [UInt8] = []
        SafeTensors.headerObject(names: names, tensors: tensors, metadata: metadata).write(to: &bytes)
        return bytes
    }

    /// Writes `state` to `path` atomically (``AtomicFile``: temporary file, fsync, rename, fsync of the directory).
    /// - Throws: ``SafeTensorsError/io(path:reason:)`` naming the failing operation; the target is untouched then.
    public static func write(_ state: StateDict, to path: String) throws(SafeTensorsError) {
        let bytes = try encode(state)
        let result = bytes.withUnsafeBytes { raw in Result { () throws(AtomicFile.Failure) in try AtomicFile.write(raw, to: path) } }
        do {
            try result.get()
        } catch {
            throw .io(path: path, reason: error.description)
        }
    }

    /// Reads and checks the checkpoint at `path`.
    public static func read(_ path: String) throws(SafeTensorsError) -> StateDict {
        // The reason in the system's words (strerror), not Foundation's error domains.
        guard let file = fopen(path, "rb") else { throw .io(path: path, reason: "cannot be read: \(errorText())") }
        fclose(file)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .io(path: path, reason: "cannot be read (is it a regular file?)")
        }
        let result = data.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try decode(raw) } }
        return try result.get()
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
