import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG document parsed by Foundation's XML parser: every element with its attributes and text, in document
/// order. Parsing fails (and the tests with it) on anything that is not well-formed XML.
public struct ParsedSVG {
    public struct Element {
        public let name: String
        public let attributes: [String: String]
        public var text: String
    }

    public let elements: [Element]

    public init(_ svg: String) throws {
        let delegate = Collector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = delegate
        guard parser.parse() else {
            throw ParseError(description: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        elements = delegate.elements
    }

    public struct ParseError: Error, CustomStringConvertible { public let description: String }

    public func all(_ name: String) -> [Element] { elements.filter { $0.name == name } }

    /// The text of every `<text>` element.
    public var texts: [String] { all("text").map(\.text) }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var open: [Int] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            open.append(elements.count)
            elements.append(Element(name: name, attributes: attributes, text: ""))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let index = open.last { elements[index].text += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }
    }
}

public extension ParsedSVG.Element {
    /// A numeric attribute, or nil if it is missing or not a finite number.
    func number(_ key: String) -> Double? {
        attributes[key].flatMap(Double.init).flatMap { $0.isFinite ? $0 : nil }
    }
}
