#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Autograd
import Foundation

/// A text for a language model, as nanoGPT's `data/*/prepare.py` make one: the first 90% of the text (by
/// characters) trains and the rest validates, and batches are `batchSize` windows of `context + 1` tokens at
/// random offsets (inputs, and the same shifted by one as targets). The tokens are characters, as
/// `shakespeare_char` (the vocabulary is the sorted set of the text's characters: Unicode scalars by code point, as
/// Python sorts a `str`), or GPT-2's BPE, as `shakespeare` (each split encoded on its own).
///
/// ```swift
/// let corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare)
/// var random = RandomGenerator(seed: 1337)
/// let (inputs, targets) = corpus.batch(.train, batchSize: 12, context: 64, using: &random)
/// ```
public struct TextCorpus: Sendable {
    public enum Split: String, Sendable, CaseIterable { case train, validation }

    /// How the text became tokens, and how tokens become text.
    public let tokenizer: TextTokenizer
    /// The characters of a character-level corpus (token i is `characters.scalars[i]`); nil for BPE.
    public var characters: CharacterVocabulary? { tokenizer.characters }
    /// The number of tokens of the vocabulary.
    public var vocabularySize: Int { tokenizer.vocabularySize }
    /// The whole text as tokens.
    public let tokens: [Int]
    /// Where the validation split starts: `Int(Double(tokens.count) * 0.9)`, as nanoGPT's `int(n * 0.9)`.
    public let validationStart: Int

    /// The corpus of `text`.
    /// - Throws: ``DatasetError/invalidArgument(name:value:)`` for a text too short to hold one context window in
    ///   each split (fewer than 20 characters).
    public init(text: String) throws(DatasetError) {
        try self.init(text: text, characters: CharacterVocabulary(of: text))
    }

    /// The corpus of `text` in the vocabulary `characters` (a pretrained model's, which may hold characters the
    /// text does not): for fine-tuning a model on a new text.
    /// - Throws: ``DatasetError/unknownCharacter(_:)`` for the first character of `text` outside `characters`, and
    ///   the errors of ``init(text:)``.
    public init(text: String, characters: CharacterVocabulary) throws(DatasetError) {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count >= 20 else {
            throw .invalidArgument(name: "text length (at least 20 characters)", value: scalars.count)
        }
        tokenizer = .characters(characters)
        tokens = try characters.encode(text)
        validationStart = Int(Double(scalars.count) * 0.9)
    }

    /// The corpus of `text` in `tokenizer`'s tokens: the first 90% of its characters and the rest encoded each on
    /// its own (as nanoGPT's `shakespeare/prepare.py`; for characters, the same as cutting the tokens).
    /// - Throws: as ``init(text:characters:)``.
    public init(text: String, tokenizer: TextTokenizer) throws(DatasetError) {
        guard case .gpt2(let bpe) = tokenizer else {
            try self.init(text: text, characters: tokenizer.characters!)
            return
        }
        let scalars = Array(text.unicodeScalars)
        guard scalars.count >= 20 else {
            throw .invalidArgument(name: "text length (at least 20 characters)", value: scalars.count)
        }
        let cut = Int(Double(scalars.count) * 0.9)
        var train = String.UnicodeScalarView(), validation = String.UnicodeScalarView()
        train.append(contentsOf: scalars[..<cut])
        validation.append(contentsOf: scalars[cut...])
        let trainTokens = bpe.encode(String(train))
        self.init(tokenizer: tokenizer, tokens: trainTokens + bpe.encode(String(validation)), validationStart: trainTokens.count)
    }

    private init(tokenizer: TextTokenizer, tokens: [Int], validationStart: Int) {
        self.tokenizer = tokenizer
        self.tokens = tokens
        self.validationStart = validationStart
    }

    /// A corpus of `characters` whose splits are `train` and `validation` (tokens of `characters`): a part of
    /// another corpus, as the experiments train on a shorter text and validate on a part of the validation split.
    /// - Throws: ``DatasetError/invalidArgument(name:value:)`` when a split has fewer than 10 tokens or a token is
    ///   outside the vocabulary.
    public init(characters: CharacterVocabulary, train: ArraySlice<Int>, validation: ArraySlice<Int>) throws(DatasetError) {
        try self.init(tokenizer: .characters(characters), train: train, validation: validation)
    }

    /// A corpus of `tokenizer`'s tokens whose splits are `train` and `validation`.
    /// - Throws: as ``init(characters:train:validation:)``.
    public init(tokenizer: TextTokenizer, train: ArraySlice<Int>, validation: ArraySlice<Int>) throws(DatasetError) {
        guard train.count >= 10 else { throw .invalidArgument(name: "training characters (at least 10)", value: train.count) }
        guard validation.count >= 10 else {
            throw .invalidArgument(name: "validation characters (at least 10)", value: validation.count)
        }
        let vocabulary = tokenizer.vocabularySize
        if let outside = (train + validation).first(where: { !(0..<vocabulary).contains($0) }) {
            throw .invalidArgument(name: "token (within the vocabulary)", value: outside)
        }
        self.tokenizer = tokenizer
        tokens = Array(train) + Array(validation)
        validationStart = train.count
    }

    /// The largest text a corpus reads: 256 MiB (its tokens take eight times that).
    public static let maximumBytes = 256 << 20

    /// The corpus of the UTF-8 text at `path`: a regular file, or a stream read to its end (a pipe, a FIFO,
    /// `/dev/stdin`, a process substitution).
    /// - Throws: ``DatasetError/unreadable(path:reason:)`` for a path that cannot be opened (in the system's
    ///   words), a folder, a text above ``maximumBytes`` or one that is not UTF-8, and the errors of ``init(text:)``.
    public init(contentsOf path: String) throws(DatasetError) {
        let text = try Self.text(contentsOf: path)
        try self.init(text: text)
    }

    /// The corpus of the UTF-8 text at `path` in the vocabulary `characters` (see ``init(text:characters:)``).
    /// - Throws: as ``init(contentsOf:)`` and ``init(text:characters:)``.
    public init(contentsOf path: String, characters: CharacterVocabulary) throws(DatasetError) {
        let text = try Self.text(contentsOf: path)
        try self.init(text: text, characters: characters)
    }

    /// The corpus of the UTF-8 text at `path` in `tokenizer`'s tokens (see ``init(text:tokenizer:)``).
    /// - Throws: as ``init(contentsOf:)`` and ``init(text:tokenizer:)``.
    public init(contentsOf path: String, tokenizer: TextTokenizer) throws(DatasetError) {
        let text = try Self.text(contentsOf: path)
        try self.init(text: text, tokenizer: tokenizer)
    }

    /// The UTF-8 text at `path`, read as ``init(contentsOf:)`` describes (at most ``maximumBytes``).
    public static func text(contentsOf path: String) throws(DatasetError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: throw .unreadable(path: path, reason: "it is a folder, not a text file")
        case S_IFREG, S_IFIFO, S_IFCHR, S_IFSOCK: break
        default: throw .unreadable(path: path, reason: "it is not a regular file or a stream")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            guard bytes.count + count <= Self.maximumBytes else {
                throw .unreadable(path: path, reason: "it holds more than \(Self.maximumBytes >> 20) MiB; a character-level corpus reads at most that")
            }
            bytes += chunk[..<count]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .unreadable(path: path, reason: "it is not UTF-8 text")
        }
        return text
    }

    /// The copy of Tiny Shakespeare in the repository's `Data/tinyshakespeare` (or `$ADAMW_DATA_DIR`'s
    /// `tinyshakespeare/input.txt`).
    public static var tinyShakespeare: String {
        BundledData.path("Data/tinyshakespeare/input.txt") { $0 + "/tinyshakespeare/input.txt" }
    }

    /// The tokens of `split`.
    public func tokens(of split: Split) -> ArraySlice<Int> {
        split == .train ? tokens[..<validationStart] : tokens[validationStart...]
    }

    /// `text` as tokens.
    /// - Throws: ``DatasetError/unknownCharacter(_:)`` naming the first character outside a character vocabulary.
    public func encode(_ text: String) throws(DatasetError) -> [Int] { try tokenizer.encode(text) }

    /// `tokens` as text; a token outside the vocabulary becomes U+FFFD.
    public func decode(_ tokens: [Int]) -> String { tokenizer.decode(tokens) }

    /// `batchSize` windows of `split` at offsets drawn from `random` (uniform over every start that leaves room
    /// for `context + 1` tokens): the inputs `[batchSize][context]` and the targets, the same shifted by one.
    /// `context` must be at least 1 and leave room in the split (``maximumContext``).
    public func batch(
        _ split: Split, batchSize: Int, context: Int, using random: inout RandomGenerator
    ) -> (inputs: [[Int]], targets: [[Int]]) {
        let data = tokens(of: split)
        precondition(context >= 1 && context < data.count, "context \(context) does not fit the split")
        let starts = data.count - context
        var inputs: [[Int]] = [], targets: [[Int]] = []
        for _ in 0..<batchSize {
            let offset = data.startIndex + Int(random.next() % UInt64(starts))
            inputs.append(Array(data[offset..<(offset + context)]))
            targets.append(Array(data[(offset + 1)...(offset + context)]))
        }
        return (inputs, targets)
    }

    /// The longest context the smaller split leaves room for.
    public var maximumContext: Int { min(validationStart, tokens.count - validationStart) - 1 }
}

/// The name the character-level corpus had.
public typealias CharacterCorpus = TextCorpus
