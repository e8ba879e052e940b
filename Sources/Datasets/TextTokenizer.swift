/// How a ``TextCorpus`` turns text into tokens and back: by character, as nanoGPT's `shakespeare_char` (the
/// vocabulary is the text's own characters, or a pretrained model's), or by GPT-2's byte-level BPE (a Hugging
/// Face GPT-2's `vocab.json` and `merges.txt`).
public enum TextTokenizer: Sendable, Equatable {
    case characters(CharacterVocabulary)
    case gpt2(GPT2Tokenizer)

    /// The number of tokens.
    public var vocabularySize: Int {
        switch self {
        case .characters(let vocabulary): vocabulary.count
        case .gpt2(let tokenizer): tokenizer.vocabularySize
        }
    }

    /// The character vocabulary; nil for BPE.
    public var characters: CharacterVocabulary? {
        if case .characters(let vocabulary) = self { return vocabulary }
        return nil
    }

    /// `text` as tokens.
    /// - Throws: ``DatasetError/unknownCharacter(_:)`` naming a character outside a character vocabulary (BPE
    ///   encodes any text).
    public func encode(_ text: String) throws(DatasetError) -> [Int] {
        switch self {
        case .characters(let vocabulary): try vocabulary.encode(text)
        case .gpt2(let tokenizer): tokenizer.encode(text)
        }
    }

    /// `tokens` as text; a token outside the vocabulary, or bytes that are not UTF-8, become U+FFFD.
    public func decode(_ tokens: [Int]) -> String {
        switch self {
        case .characters(let vocabulary): return vocabulary.decode(tokens)
        case .gpt2(let tokenizer):
            return tokenizer.decodeLossy(tokens)
        }
    }

    public static func == (a: TextTokenizer, b: TextTokenizer) -> Bool {
        switch (a, b) {
        case (.characters(let x), .characters(let y)): x == y
        case (.gpt2(let x), .gpt2(let y)): x === y || x.fingerprint == y.fingerprint
        default: false
        }
    }
}
