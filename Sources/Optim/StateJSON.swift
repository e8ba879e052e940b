import Foundation

/// JSON for the parts of a state dict that are not tensors (group options, schedule state, run options): keys
/// sorted, so that equal states give equal bytes, and ±infinity and NaN written as the strings "inf", "-inf" and
/// "nan" (a plateau schedule's best metric is infinite until its first finite one), which plain JSON cannot hold.
public enum StateJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The value in `text`, or nil when it is not JSON of that type.
    public static func decode<T: Decodable>(_ type: T.Type = T.self, from text: String) -> T? {
        try? decoder.decode(type, from: Data(text.utf8))
    }

    /// The value in `text`, or nil when it is not JSON of that type; an error the type's own decoding throws for a
    /// value it refuses (an optimizer option out of range) is thrown, so that the caller can say which.
    public static func decodeChecked<T: Decodable>(_ type: T.Type = T.self, from text: String) throws -> T? {
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch is DecodingError {
            return nil
        }
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
