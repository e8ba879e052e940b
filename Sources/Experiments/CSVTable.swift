/// A table written as CSV (RFC 4180): a header row, then one row per record; a field holding a comma, a quote or a
/// line break is quoted, with quotes doubled.
public struct CSVTable: Sendable {
    public let header: [String]
    public private(set) var rows: [[String]] = []

    public init(header: [String]) { self.header = header }

    /// Adds a row of as many fields as the header has.
    public mutating func append(_ row: [String]) {
        precondition(row.count == header.count, "a CSV row of \(row.count) fields under \(header.count) columns")
        rows.append(row)
    }

    /// The CSV text, lines ending in "\n".
    public var rendered: String {
        ([header] + rows).map { $0.map(Self.field).joined(separator: ",") + "\n" }.joined()
    }

    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
