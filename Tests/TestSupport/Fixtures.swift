import Foundation

/// The PyTorch reference files: the repository's copy in `Tests/Fixtures/pytorch`, or the directory named by
/// the environment variable `ADAMW_REFERENCE_DIR` when it is set, so new references can be dropped in without
/// changing code.
public enum Fixtures {
    public static var referenceDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["ADAMW_REFERENCE_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override, isDirectory: true)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/pytorch", isDirectory: true)
    }

    /// A folder of this repository's own fixtures, `Tests/Fixtures/<name>` (not overridden by the environment).
    public static func repositoryDirectory(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(name)", isDirectory: true)
    }

    /// The top-level object of a reference JSON file.
    public static func json(_ name: String) throws -> [String: Any] {
        let url = referenceDirectory.appendingPathComponent(name)
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("\(url.path) is not a JSON object")
        }
        return object
    }

    /// The `cases` array of a reference file.
    public static func cases(_ name: String) throws -> [[String: Any]] {
        guard let cases = try json(name)["cases"] as? [[String: Any]], !cases.isEmpty else {
            throw FixtureError("\(name) has no cases")
        }
        return cases
    }

    /// The reference files whose names match, sorted.
    public static func files(prefix: String, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: referenceDirectory.path)
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.sorted()
    }
}

/// A reference file or case that the tests cannot run: it fails the test that reads it.
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Typed access to the values of a parsed JSON object, throwing on a missing key or a wrong type.
public extension Dictionary where Key == String, Value == Any {
    func value<T>(_ key: String, as type: T.Type = T.self) throws -> T {
        guard let raw = self[key] else { throw FixtureError("missing key '\(key)'") }
        guard let value = raw as? T else { throw FixtureError("key '\(key)' is \(Swift.type(of: raw)), not \(T.self)") }
        return value
    }

    func double(_ key: String) throws -> Double {
        let raw: Any = try value(key)
        if let number = raw as? NSNumber { return number.doubleValue }
        if let text = raw as? String {
            switch text {
            case "inf", "Infinity": return .infinity
            case "-inf", "-Infinity": return -.infinity
            case "nan", "NaN": return .nan
            default: break
            }
        }
        throw FixtureError("key '\(key)' is not a number: \(raw)")
    }
}

/// The element at `index`, or a ``FixtureError`` naming `what` when the array is too short: a malformed reference
/// fails its test instead of crashing the test process.
public func element<T>(_ array: [T], _ index: Int, _ what: @autoclosure () -> String) throws -> T {
    guard array.indices.contains(index) else {
        throw FixtureError("\(what()): index \(index) outside the \(array.count) entries")
    }
    return array[index]
}

/// Converts a JSON array of numbers (decimals that round-trip a float32) to Floats: Double first, then Float.
public func floats(_ raw: Any?) throws -> [Float] {
    guard let numbers = raw as? [NSNumber] else { throw FixtureError("not an array of numbers: \(String(describing: raw).prefix(80))") }
    return numbers.map { Float($0.doubleValue) }
}

/// `|ours − torch| ≤ atol + rtol·|torch|` for every element (NaN only matches NaN), or the first element that is not.
public func firstMismatch(_ ours: [Float], _ torch: [Float], atol: Double, rtol: Double) -> String? {
    guard ours.count == torch.count else { return "count \(ours.count) != \(torch.count)" }
    for i in ours.indices {
        let a = Double(ours[i]), b = Double(torch[i])
        if a.isNaN && b.isNaN { continue }
        if a == b { continue }
        if !(abs(a - b) <= atol + rtol * abs(b)) { return "element \(i): ours \(a), torch \(b)" }
    }
    return nil
}

/// A small deterministic generator for test data (SplitMix64).
public struct TestRandom {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    public mutating func float() -> Float { Float(Double(next() >> 11) / Double(1 << 53)) * 2 - 1 }
    public mutating func floats(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in float() * scale } }
}
