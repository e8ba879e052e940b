/// The characters of a character-level model: token i is the i-th distinct Unicode scalar in code-point order
/// (as Python's `sorted(set(text))`), with encoding and decoding. A ``TextCorpus`` makes one from its text; a
/// checkpoint keeps one as text so that sampling needs nothing else.
public struct CharacterVocabulary: Sendable, Equatable {
    /// The characters, in code-point order: token i is `scalars[i]`.
    public let scalars: [Unicode.Scalar]
    private let index: [Unicode.Scalar: Int]

    /// The vocabulary of the distinct characters of `text`.
    public init(of text: String) {
        self.init(sorted: Set(text.unicodeScalars).sorted { $0.value < $1.value })
    }

    /// The vocabulary whose characters are those of `text` in order, as ``text`` writes them; nil unless they are
    /// distinct, in code-point order, and at least one.
    public init?(text: String) {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty, zip(scalars, scalars.dropFirst()).allSatisfy({ $0.value < $1.value }) else { return nil }
        self.init(sorted: scalars)
    }

    private init(sorted scalars: [Unicode.Scalar]) {
        self.scalars = scalars
        index = Dictionary(uniqueKeysWithValues: scalars.enumerated().map { ($1, $0) })
    }

    public var count: Int { scalars.count }

    /// Every character in token order, as one string (for ``init(text:)``).
    public var text: String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// The token of `scalar`, if the vocabulary has it.
    public func token(of scalar: Unicode.Scalar) -> Int? { index[scalar] }

    /// `text` as tokens.
    /// - Throws: ``DatasetError/unknownCharacter(_:)`` naming the first character outside the vocabulary.
    public func encode(_ text: String) throws(DatasetError) -> [Int] {
        var result: [Int] = []
        for scalar in text.unicodeScalars {
            guard let token = index[scalar] else { throw .unknownCharacter(String(scalar)) }
            result.append(token)
        }
        return result
    }

    /// `tokens` as text; a token outside the vocabulary becomes U+FFFD.
    public func decode(_ tokens: [Int]) -> String {
        var text = String.UnicodeScalarView()
        for token in tokens { text.append(scalars.indices.contains(token) ? scalars[token] : "\u{FFFD}") }
        return String(text)
    }
}
