import Checkpoints
import Foundation
import Optim
import TestSupport
import Testing

/// Compatibility with Python's `safetensors` and a reader that refuses every malformed file.
struct SafeTensorsTests {
    static var fixtureURL: URL {
        // The Python fixture lives beside the PyTorch references in the repository, whatever ADAMW_REFERENCE_DIR says.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/safetensors/python.safetensors")
    }

    static let expectedTensors: [String: StateDict.TensorData] = [
        "layers.1.weight": .init(shape: [3, 4], values: FloatBuffer((0..<12).map { Float($0) / 7 })),
        "layers.1.bias": .init(shape: [3], values: [1.5, -2.25, 1e-30]),
        "scalar": .init(shape: [], values: [3]),
        "empty": .init(shape: [0, 5], values: FloatBuffer(count: 0)),
        "émoji→": .init(shape: [2], values: [.infinity, -.infinity]),
    ]
    static let expectedMetadata = ["note ✓": "quote \" backslash \\ tab \t newline \n control \u{01}"]

    @Test func readsAFileWrittenByPythonSafetensors() throws {
        let bytes = try Data(contentsOf: Self.fixtureURL)
        let (tensors, metadata) = try bytes.withUnsafeBytes { try SafeTensors.decode($0) }
        #expect(metadata == Self.expectedMetadata)
        #expect(Set(tensors.keys) == Set(Self.expectedTensors.keys))
        for (name, expected) in Self.expectedTensors {
            #expect(tensors[name]?.shape == expected.shape, "\(name)")
            #expect(tensors[name]?.values.map(\.bitPattern) == expected.values.map(\.bitPattern), "\(name)")
        }
    }

    @Test func writesTheSameBytesAsPythonSafetensors() throws {
        let python = try [UInt8](Data(contentsOf: Self.fixtureURL))
        let ours = try SafeTensors.encode(Self.expectedTensors, metadata: Self.expectedMetadata)
        #expect(ours.count == python.count)
        let firstDifference = zip(ours, python).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(ours == python, "first differing byte at \(firstDifference.map(String.init) ?? "the end")")
    }

    /// A header (padded to 8 bytes) and data, assembled by hand.
    static func file(_ header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { bytes += $0 }
        return bytes + headerBytes + data
    }

    static let refusals: [(String, [UInt8], String)] = [
        ("short file", [1, 2, 3], "truncated file"),
        ("header length beyond the file", file(#"{}"#, declaredLength: 4096), "truncated file: the header claims 4096"),
        ("header length above 100 MB", file(#"{}"#, declaredLength: 200_000_000), "header length 200000000 is above"),
        ("not JSON", file("{nope}"), "invalid header"),
        ("not an object", file("[1, 2]"), "invalid header: it does not start with '{'"),
        ("trailing text", file(#"{} x"#), "invalid header: unexpected byte"),
        ("float offset", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#, data: [0, 0, 0, 0]),
         "invalid header: non-integer number"),
        ("negative dimension", file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         "invalid header: unsupported JSON"),
        ("duplicate tensor", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         "invalid header: duplicate key 'a'"),
        ("unknown dtype", file(#"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         "tensor 'a' has an unknown dtype 'F33'"),
        ("unsupported dtype", file(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         "tensor 'a' has dtype F16; only F32, BF16 and U8 are supported"),
        ("shape disagrees with bytes", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         "tensor 'a' of shape [2] needs 8 bytes, its offsets give 4"),
        ("offsets outside the data", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]),
         "truncated file: tensor 'a' ends at byte 8 of the data, the file holds 4"),
        ("overlapping tensors", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         "invalid data offsets: tensor 'b' overlaps the one before it"),
        ("gap in the data", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [0, 0, 0, 0, 0, 0, 0, 0]),
         "invalid data offsets: a gap before tensor 'a'"),
        ("bytes after the tensors", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0, 9]),
         "invalid data offsets: the tensors cover 4 bytes of data, the file has 5"),
        ("reversed offsets", file(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
         "invalid data offsets: tensor 'a' begins at 4 after its end 0"),
        ("non-string metadata", file(#"{"__metadata__":{"k":[1]}}"#), "invalid header: metadata value of 'k' is not a string"),
        ("unexpected field", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":"y"}}"#, data: [0, 0, 0, 0]),
         "invalid header: tensor 'a' has an unexpected field 'x'"),
    ]

    /// What the reader would refuse is never written (an atomic write of it would replace a good checkpoint).
    @Test func refusesToWriteWhatItCouldNotRead() {
        let wrongShape = ["w": StateDict.TensorData(shape: [2, 3], values: FloatBuffer([1, 2, 3]))]
        #expect(throws: SafeTensorsError.shapeMismatch(tensor: "w", shape: [2, 3], dtype: "F32", bytes: 12)) {
            try SafeTensors.encode(wrongShape, metadata: [:])
        }
        let negative = ["w": StateDict.TensorData(shape: [-1, 0], values: FloatBuffer([]))]
        #expect(throws: SafeTensorsError.shapeMismatch(tensor: "w", shape: [-1, 0], dtype: "F32", bytes: 0)) {
            try SafeTensors.encode(negative, metadata: [:])
        }
        let reserved = ["__metadata__": StateDict.TensorData(shape: [1], values: FloatBuffer([1]))]
        #expect(throws: SafeTensorsError.invalidHeader("a tensor cannot be named __metadata__")) {
            try SafeTensors.encode(reserved, metadata: [:])
        }
    }

    @Test func refusesMalformedFilesWithAReason() {
        for (name, bytes, message) in Self.refusals {
            let result = bytes.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try SafeTensors.decode(raw) } }
            switch result {
            case .success: Issue.record("\(name): accepted")
            case .failure(let error): #expect(error.description.hasPrefix(message), "\(name): \(error.description)")
            }
        }
    }
}
