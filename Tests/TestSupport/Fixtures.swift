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

    /// The `cases` array of a reference file, after ``checkFileKeys(_:of:reading:meta:)`` of its other fields
    /// (`meta`: the keys of its `meta` object that a test reads).
    public static func cases(_ name: String, meta: Set<String> = []) throws -> [[String: Any]] {
        let file = try json(name)
        try checkFileKeys(file, of: name, reading: ["cases"], meta: meta)
        guard let cases = file["cases"] as? [[String: Any]], !cases.isEmpty else {
            throw FixtureError("\(name) has no cases")
        }
        return cases
    }

    /// Fields that say how a reference was made and change no value, accepted unread wherever they appear: the
    /// tools that wrote it (`generator`, such as "torch 2.15.0+cu132") and a note for people (`note`).
    public static let descriptiveKeys: Set<String> = ["generator", "note"]

    /// Checks the top level of a reference file: the keys its reader reads (`reading`), the descriptive fields,
    /// `dtype` and `meta`, whose keys must be descriptive, `dtype` or in `meta`. A `dtype` must say float32, the
    /// precision every comparison assumes.
    public static func checkFileKeys(
        _ file: [String: Any], of name: String, reading: Set<String>, meta: Set<String> = []
    ) throws {
        let common = descriptiveKeys.union(["dtype"])
        try rejectUnknownKeys(of: file, understood: reading.union(common).union(["meta"]), in: name)
        try requireFloat32(file, in: name)
        guard let raw = file["meta"] else { return }
        guard let object = raw as? [String: Any] else { throw FixtureError("\(name): meta is not an object") }
        try rejectUnknownKeys(of: object, understood: meta.union(common), path: "meta.", in: name)
        try requireFloat32(object, in: "\(name) meta")
    }

    private static func requireFloat32(_ object: [String: Any], in context: String) throws {
        guard let dtype = object["dtype"] else { return }
        guard dtype as? String == "float32" else { throw FixtureError("\(context): dtype \(dtype), not float32") }
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

/// The keys of a reference object that its reader does not understand, as a failure instead of a field skipped in
/// silence (a case asking for amsgrad would run without it and fail far from the cause). Each reader lists the keys
/// it reads, and those it accepts unread with the reason why.
public extension Dictionary where Key == String, Value == Any {
    /// The keys outside `understood`, sorted, each after `path` (such as `"config.optimizer."`).
    func unknownKeys(understood: Set<String>, path: String = "") -> [String] {
        keys.filter { !understood.contains($0) }.sorted().map { path + $0 }
    }
}

/// The keys of a step-indexed object (`lr_changes`: `{"k": …}`) that are not a step in `0..<steps`: changes that no
/// step would apply.
public func unknownStepKeys<Value>(_ object: [String: Value], steps: Int, path: String = "") -> [String] {
    object.keys.filter { key in
        guard let step = Int(key), String(step) == key else { return true }
        return !(0..<steps).contains(step)
    }.sorted().map { path + $0 }
}

/// Throws a ``FixtureError`` naming `context` (the file and the case) and every key in `unknown`.
public func rejectUnknownKeys(_ unknown: [String], in context: @autoclosure () -> String) throws {
    guard !unknown.isEmpty else { return }
    let list = unknown.map { "'\($0)'" }.joined(separator: ", ")
    throw FixtureError("\(context()): unknown key\(unknown.count == 1 ? "" : "s") \(list), which the test does not read")
}

/// Throws a ``FixtureError`` naming `context` and the keys of `object` outside `understood`.
public func rejectUnknownKeys(
    of object: [String: Any], understood: Set<String>, path: String = "", in context: @autoclosure () -> String
) throws {
    try rejectUnknownKeys(object.unknownKeys(understood: understood, path: path), in: context())
}

/// A JSON option value as the text an optimizer's option field reads: `true`/`false` for a flag (`isFlag`: JSON's
/// booleans and numbers are both NSNumbers), `a,b` for a pair (betas), a number, or a choice's name.
public func optionText(_ value: Any, isFlag: Bool, name: String) throws -> String {
    if isFlag {
        guard let flag = value as? Bool else { throw FixtureError("option '\(name)' is not true or false: \(value)") }
        return flag ? "true" : "false"
    }
    if let pair = value as? [NSNumber] { return pair.map { String($0.doubleValue) }.joined(separator: ",") }
    if let number = value as? NSNumber { return String(number.doubleValue) }
    if let text = value as? String { return text }
    throw FixtureError("option '\(name)' has an unreadable value \(value)")
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
