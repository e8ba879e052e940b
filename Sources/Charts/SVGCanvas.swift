/// A growing SVG document: shapes and text in user units, escaped, rendered as one standalone `<svg>` that a browser
/// opens. The charts draw into it; several charts can share one canvas side by side.
public struct SVGCanvas {
    public let width: Double
    public let height: Double
    private var elements: [String] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// The document: an XML declaration-free `<svg>` element with a white background.
    public func rendered() -> String {
        let header = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" "
            + "viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" font-family=\"Helvetica, Arial, sans-serif\">"
        return ([header, "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"white\"/>"] + elements + ["</svg>"])
            .joined(separator: "\n") + "\n"
    }

    public mutating func rectangle(x: Double, y: Double, width: Double, height: Double, fill: String,
                                   stroke: String? = nil, strokeWidth: Double = 1, title: String? = nil) {
        let strokeAttribute = stroke.map {
            " stroke=\"\(Self.escape($0))\"" + (strokeWidth == 1 ? "" : " stroke-width=\"\(Self.number(strokeWidth))\"")
        } ?? ""
        let tooltip = title.map { "<title>\(Self.escape($0))</title>" } ?? ""
        elements.append("<rect x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(max(width, 0)))\" "
                        + "height=\"\(Self.number(max(height, 0)))\" fill=\"\(Self.escape(fill))\"\(strokeAttribute)>\(tooltip)</rect>")
    }

    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                              dashed: Bool = false) {
        elements.append("<line x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" x2=\"\(Self.number(x2))\" "
                        + "y2=\"\(Self.number(y2))\" stroke=\"\(Self.escape(stroke))\" stroke-width=\"\(Self.number(width))\""
                        + (dashed ? " stroke-dasharray=\"4 3\"" : "") + "/>")
    }

    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2) {
        let list = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(Self.escape(stroke))\" "
                        + "stroke-width=\"\(Self.number(width))\"/>")
    }

    public mutating func circle(x: Double, y: Double, radius: Double, fill: String) {
        elements.append("<circle cx=\"\(Self.number(x))\" cy=\"\(Self.number(y))\" r=\"\(Self.number(radius))\" "
                        + "fill=\"\(Self.escape(fill))\"/>")
    }

    public enum Anchor: String { case start, middle, end }

    public mutating func text(_ content: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                              bold: Bool = false, rotated: Bool = false, color: String = "#222") {
        let rotation = rotated ? " transform=\"rotate(-90 \(Self.number(x)) \(Self.number(y)))\"" : ""
        elements.append("<text x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" font-size=\"\(Self.number(size))\" "
                        + "text-anchor=\"\(anchor.rawValue)\" fill=\"\(Self.escape(color))\""
                        + (bold ? " font-weight=\"bold\"" : "") + rotation + ">\(Self.escape(content))</text>")
    }

    /// XML-escaped text (also for attribute values).
    public static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A coordinate with at most two decimals, never in exponent notation.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        var text = String(rounded)
        if text.contains("e") { text = String(Int(rounded)) }
        return text
    }
}
