import Optim

/// The safetensors format of Hugging Face (the Python ecosystem's weights format), for F32, BF16 and U8 tensors: an 8-byte
/// little-endian header length, a JSON header — `__metadata__` (string to string) and, for each tensor, its dtype,
/// shape and `data_offsets` — padded with spaces to a multiple of 8 bytes, then the tensors' little-endian bytes.
///
/// ``encode(_:metadata:)`` writes exactly what Python's `safetensors.save_file` writes for the same tensors and
/// metadata (tensors in name order, no whitespace). ``decode(_:)`` checks everything before it copies anything.
public enum SafeTensors {
    /// Headers above this many bytes are refused (as the Rust implementation does).
    public static let maximumHeaderSize = 100_000_000

    static let knownDtypes: Set<String> = [
        "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64",
    ]

    /// The file's bytes.
    /// - Throws: ``SafeTensorsError/invalidHeader(_:)`` for a tensor named `__metadata__`, and
    ///   ``SafeTensorsError/shapeMismatch(tensor:shape:dtype:bytes:)`` for a shape that does not fit its values: what the
    ///   reader would refuse is never written.
    public static func encode(_ tensors: [String: StateDict.TensorData], metadata: [String: String])
        throws(SafeTensorsError) -> [UInt8]
    {
        for (name, tensor) in tensors {
            guard name != "__metadata__" else { throw .invalidHeader("a tensor cannot be named __metadata__") }
            guard tensor.isConsistent else {
                throw .shapeMismatch(tensor: name, shape: tensor.shape, dtype: tensor.elementType.rawValue,
                                     bytes: tensor.values.count * 4)
            }
        }
        let names = tensors.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let header = headerObject(names: names, tensors: tensors, metadata: metadata)
        var headerBytes: [UInt8] = []
        header.write(to: &headerBytes)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var bytes: [UInt8] = []
        let dataBytes = names.reduce(0) { $0 + (tensors[$1]?.byteCount ?? 0) }
        bytes.reserveCapacity(8 + headerBytes.count + dataBytes)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { bytes += $0 }
        bytes += headerBytes
        for name in names {
            guard let tensor = tensors[name] else { continue }
            #if _endian(little)
            tensor.withUnsafeBytes { bytes += $0 }
            #else
            if tensor.elementType == .float32 {
                tensor.values.withUnsafeBufferPointer { values in
                    for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
                }
            } else {
                tensor.withUnsafeBytes { bytes += $0 }  // bfloat16 and codes are kept in little-endian order
            }
            #endif
        }
        return bytes
    }

    /// The header as a JSON value: `__metadata__` first (keys sorted) when there is any, then the tensors.
    static func headerObject(
        names: [String], tensors: [String: StateDict.TensorData], metadata: [String: String]
    ) -> JSONValue {
        var members: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            members.append(("__metadata__", .object(keys.map { ($0, .string(metadata[$0] ?? "")) })))
        }
        var offset = 0
        for name in names {
            guard let tensor = tensors[name] else { continue }
            let end = offset + (tensor.byteCount ?? 0)
            members.append((name, .object([
                ("dtype", .string(tensor.elementType.rawValue)),
                ("shape", .array(tensor.shape.map { .integer($0) })),
                ("data_offsets", .array([.integer(offset), .integer(end)])),
            ])))
            offset = end
        }
        return .object(members)
    }

    /// The tensors and metadata of a safetensors file.
    /// - Throws: ``SafeTensorsError``: a file shorter than its header claims, a header length above 100 MB, a
    ///   header that is not JSON of the format, an unknown or unsupported dtype, a shape that disagrees with its
    ///   byte length, offsets outside the data, overlapping or leaving gaps.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(SafeTensorsError)
        -> (tensors: [String: StateDict.TensorData], metadata: [String: String])
    {
        let parsed = try parse(bytes)
        var tensors: [String: StateDict.TensorData] = [:]
        for entry in parsed.entries {
            let base = parsed.dataStart + entry.begin
            let stored = UnsafeRawBufferPointer(rebasing: bytes[base..<(parsed.dataStart + entry.end)])
            #if _endian(little)
            tensors[entry.name] = .init(shape: entry.shape, bytes: stored, elementType: entry.elementType)
            #else
            if entry.elementType == .float32 {
                let values = FloatBuffer(unsafeUninitializedCount: stored.count / 4) { out in
                    for i in out.indices {
                        out[i] = Float(bitPattern: UInt32(littleEndian: stored.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                }
                tensors[entry.name] = .init(shape: entry.shape, values: values)
            } else {
                tensors[entry.name] = .init(shape: entry.shape, bytes: stored, elementType: entry.elementType)
            }
            #endif
        }
        return (tensors, parsed.metadata)
    }

    struct Entry {
        let name: String
        let shape: [Int]
        let elementType: StateElementType
        let begin: Int
        let end: Int
    }

    struct Parsed {
        let header: JSONValue
        let metadata: [String: String]
        let entries: [Entry]
        let dataStart: Int
    }

    /// Validates the layout and the header without copying any tensor.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(SafeTensorsError) -> Parsed {
        guard bytes.count >= 8 else { throw .truncated("\(bytes.count) bytes, fewer than the 8 of the header length") }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(maximumHeaderSize) else { throw .headerTooLarge(Int(clamping: declared)) }
        let headerSize = Int(declared)
        guard headerSize <= bytes.count - 8 else {
            throw .truncated("the header claims \(headerSize) bytes, the file has \(bytes.count - 8) after the length")
        }
        guard headerSize >= 2, bytes[8] == UInt8(ascii: "{") else { throw .invalidHeader("it does not start with '{'") }
        let header = try JSONValue.parse(UnsafeBufferPointer(
            start: bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + 8 }, count: headerSize))
        guard case .object(let members) = header else { throw .invalidHeader("it is not a JSON object") }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw .invalidHeader("__metadata__ is not an object") }
                for (key, text) in pairs {
                    guard case .string(let string) = text else {
                        throw .invalidHeader("metadata value of '\(key)' is not a string")
                    }
                    metadata[key] = string
                }
                continue
            }
            entries.append(try entry(name, value))
        }
        let dataStart = 8 + headerSize, dataSize = bytes.count - dataStart
        var expected = 0
        for entry in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard entry.begin == expected else {
                throw .invalidOffsets(entry.begin < expected
                    ? "tensor '\(entry.name)' overlaps the one before it"
                    : "a gap before tensor '\(entry.name)' (bytes \(expected)..<\(entry.begin) belong to no tensor)")
            }
            guard entry.end <= dataSize else {
                throw .truncated("tensor '\(entry.name)' ends at byte \(entry.end) of the data, the file holds \(dataSize)")
            }
            expected = entry.end
        }
        guard expected == dataSize else {
            throw .invalidOffsets("the tensors cover \(expected) bytes of data, the file has \(dataSize)")
        }
        return Parsed(header: header, metadata: metadata, entries: entries, dataStart: dataStart)
    }

    private static func entry(_ name: String, _ value: JSONValue) throws(SafeTensorsError) -> Entry {
        guard case .object(let fields) = value else { throw .invalidHeader("tensor '\(name)' is not an object") }
        var dtype: String?, shape: [Int]?, offsets: [Int]?
        for (key, field) in fields {
            switch (key, field) {
            case ("dtype", .string(let text)): dtype = text
            case ("shape", .array(let dimensions)):
                shape = try dimensions.map { (dimension: JSONValue) throws(SafeTensorsError) -> Int in
                    guard case .integer(let size) = dimension else {
                        throw .invalidHeader("tensor '\(name)' has a non-integer dimension")
                    }
                    return size
                }
            case ("data_offsets", .array(let pair)):
                offsets = try pair.map { (bound: JSONValue) throws(SafeTensorsError) -> Int in
                    guard case .integer(let offset) = bound else {
                        throw .invalidHeader("tensor '\(name)' has a non-integer offset")
                    }
                    return offset
                }
            default: throw .invalidHeader("tensor '\(name)' has an unexpected field '\(key)'")
            }
        }
        guard let dtype, let shape, let offsets, offsets.count == 2 else {
            throw .invalidHeader("tensor '\(name)' needs dtype, shape and two data_offsets")
        }
        guard knownDtypes.contains(dtype) else { throw .unknownDtype(tensor: name, dtype: dtype) }
        guard let elementType = StateElementType(rawValue: dtype) else { throw .unsupportedDtype(tensor: name, dtype: dtype) }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw .invalidOffsets("tensor '\(name)' begins at \(begin) after its end \(end)") }
        let elements = Parameter.elementCount(of: shape)
        let (byteCount, overflowBytes) = (elements ?? 0).multipliedReportingOverflow(by: elementType.byteSize)
        guard elements != nil, !overflowBytes, byteCount == end - begin else {
            throw .shapeMismatch(tensor: name, shape: shape, dtype: dtype, bytes: end - begin)
        }
        return Entry(name: name, shape: shape, elementType: elementType, begin: begin, end: end)
    }
}
