/// The part of JSON a safetensors header uses — objects, arrays, strings and non-negative integers — parsed
/// strictly and written in one canonical form (no whitespace, keys in the order given, serde_json's escapes), so
/// that our files match those of Python's `safetensors` byte for byte.
///
/// The parser refuses everything else (floats, negative numbers, booleans, null, duplicate keys, trailing text,
/// nesting deeper than 8) with a message, so a corrupt header cannot pass as a different valid one.
enum JSONValue: Equatable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int)

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let a), .array(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        default: return false
        }
    }

    // MARK: Writing

    func write(to output: inout [UInt8]) {
        switch self {
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                value.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                element.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .string(let text):
            Self.writeString(text, to: &output)
        case .integer(let value):
            output += Array(String(value).utf8)
        }
    }

    /// serde_json's escapes: \" \\ and the control characters (short forms for \b \f \n \r \t); everything else,
    /// non-ASCII included, as UTF-8.
    static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): output += Array("\\\\".utf8)
            case 0x08: output += Array("\\b".utf8)
            case 0x0C: output += Array("\\f".utf8)
            case 0x0A: output += Array("\\n".utf8)
            case 0x0D: output += Array("\\r".utf8)
            case 0x09: output += Array("\\t".utf8)
            case 0..<0x20:
                let hex = String(byte, radix: 16)
                output += Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    // MARK: Parsing

    /// Parses `bytes` as one value followed by nothing but spaces (safetensors pads its header with them).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(SafeTensorsError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        let value = try parser.value(depth: 0)
        while parser.position < bytes.count {
            guard bytes[parser.position] == UInt8(ascii: " ") else {
                throw .invalidHeader("unexpected byte at offset \(parser.position) after the JSON value")
            }
            parser.position += 1
        }
        return value
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func peek() throws(SafeTensorsError) -> UInt8 {
            guard position < bytes.count else { throw .invalidHeader("the JSON ends early") }
            return bytes[position]
        }

        mutating func expect(_ byte: UInt8) throws(SafeTensorsError) {
            guard try peek() == byte else {
                throw .invalidHeader("expected '\(Character(Unicode.Scalar(byte)))' at offset \(position)")
            }
            position += 1
        }

        mutating func value(depth: Int) throws(SafeTensorsError) -> JSONValue {
            guard depth < 8 else { throw .invalidHeader("JSON nested deeper than 8") }
            switch try peek() {
            case UInt8(ascii: "{"):
                position += 1
                var members: [(String, JSONValue)] = []
                var keys = Set<String>()
                if try peek() == UInt8(ascii: "}") { position += 1; return .object(members) }
                while true {
                    let key = try string()
                    guard keys.insert(key).inserted else { throw .invalidHeader("duplicate key '\(key)'") }
                    try expect(UInt8(ascii: ":"))
                    members.append((key, try value(depth: depth + 1)))
                    if try peek() == UInt8(ascii: ",") { position += 1; continue }
                    try expect(UInt8(ascii: "}"))
                    return .object(members)
                }
            case UInt8(ascii: "["):
                position += 1
                var elements: [JSONValue] = []
                if try peek() == UInt8(ascii: "]") { position += 1; return .array(elements) }
                while true {
                    elements.append(try value(depth: depth + 1))
                    if try peek() == UInt8(ascii: ",") { position += 1; continue }
                    try expect(UInt8(ascii: "]"))
                    return .array(elements)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                return .integer(try integer())
            default:
                throw .invalidHeader("unsupported JSON at offset \(position) (only objects, arrays, strings and "
                                     + "non-negative integers)")
            }
        }

        mutating func integer() throws(SafeTensorsError) -> Int {
            let start = position
            var value = 0
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(Int(bytes[position] - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { throw .invalidHeader("integer too large at offset \(start)") }
                value = sum
                position += 1
            }
            guard position - start == 1 || bytes[start] != UInt8(ascii: "0") else {
                throw .invalidHeader("integer with a leading zero at offset \(start)")
            }
            if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
                throw .invalidHeader("non-integer number at offset \(start)")
            }
            return value
        }

        mutating func string() throws(SafeTensorsError) -> String {
            try expect(UInt8(ascii: "\""))
            var scalars = String.UnicodeScalarView()
            var utf8: [UInt8] = []
            func flush() throws(SafeTensorsError) {
                guard !utf8.isEmpty else { return }
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw .invalidHeader("invalid UTF-8 in a string before offset \(position)")
                }
                scalars.append(contentsOf: text.unicodeScalars)
                utf8.removeAll(keepingCapacity: true)
            }
            while true {
                let byte = try peek()
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    try flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush()
                    let escape = try peek()
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"): scalars.append(try unicodeEscape())
                    default: throw .invalidHeader("invalid escape at offset \(position - 1)")
                    }
                case 0..<0x20:
                    throw .invalidHeader("control character in a string at offset \(position - 1)")
                default:
                    utf8.append(byte)
                }
            }
        }

        mutating func hex4() throws(SafeTensorsError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = try peek()
                position += 1
                guard let digit = Int(String(Unicode.Scalar(byte)), radix: 16) else {
                    throw .invalidHeader("invalid \\u escape at offset \(position - 1)")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        mutating func unicodeEscape() throws(SafeTensorsError) -> Unicode.Scalar {
            let first = try hex4()
            if (0xD800..<0xDC00).contains(first) {
                try expect(UInt8(ascii: "\\"))
                try expect(UInt8(ascii: "u"))
                let second = try hex4()
                guard (0xDC00..<0xE000).contains(second),
                      let scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)) else {
                    throw .invalidHeader("invalid surrogate pair at offset \(position)")
                }
                return scalar
            }
            guard let scalar = Unicode.Scalar(first) else {
                throw .invalidHeader("invalid \\u escape at offset \(position)")
            }
            return scalar
        }
    }
}
