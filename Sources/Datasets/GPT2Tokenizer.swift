import Foundation

/// GPT-2's byte-level BPE, read from a Hugging Face model directory's `vocab.json` and `merges.txt` (OpenAI's
/// `encoder.json` and `vocab.bpe`), encoding as tiktoken's `gpt2` does:
///
/// 1. `<|endoftext|>` is id 50256 wherever it appears; the text between is encoded on its own.
/// 2. The text is cut into pieces by GPT-2's pattern
///    `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` over Unicode scalars
///    (letters and numbers by Unicode category, whitespace by the White_Space property).
/// 3. Each piece's UTF-8 bytes start as one token each (every byte is a token, under GPT-2's printable
///    byte-to-character map), and the adjacent pair of lowest merge rank is merged, the leftmost first, until no
///    pair has a rank.
///
/// ```swift
/// let tokenizer = try GPT2Tokenizer(directory: GPT2Tokenizer.bundledDirectory)
/// let ids = tokenizer.encode("Hello world")           // [15496, 995]
/// let text = try tokenizer.decode(ids)                // "Hello world"
/// ```
///
/// `decode(encode(text)) == text` for every string. A tokenizer is immutable (each `encode` keeps its own cache of
/// the pieces it has met), so one may serve every thread.
public final class GPT2Tokenizer: Sendable {
    /// The end-of-text token's text, and its id in GPT-2's vocabulary.
    public static let endOfText = "<|endoftext|>"

    /// The number of tokens (50,257 for GPT-2).
    public let vocabularySize: Int
    /// `<|endoftext|>`'s id (50256 for GPT-2), nil if the vocabulary has no such token.
    public let endOfTextID: Int?
    /// The folder the files were read from (nil when made from their bytes).
    public let directory: String?
    /// A digest of the two files' bytes (64-bit FNV-1a of each, in hexadecimal): a checkpoint keeps it, so that a
    /// run is resumed and sampled with the tokenizer it was trained with.
    public let fingerprint: String
    /// Each token's bytes.
    private let tokenBytes: [[UInt8]]
    /// The token of each single byte.
    private let byteToken: [Int32]
    /// A merge by the pair's ids (`left << 32 | right`): its rank and the merged token.
    private let merges: [UInt64: (rank: Int32, token: Int32)]

    /// The copy of GPT-2's `vocab.json` and `merges.txt` in the repository's `Data/gpt2` (or `$ADAMW_DATA_DIR`'s
    /// `gpt2`).
    public static var bundledDirectory: String {
        BundledData.path("Data/gpt2") { $0 + "/gpt2" }
    }

    /// The folder a `--tokenizer` value names: `gpt2` is ``bundledDirectory``, anything else a path.
    public static func directory(named value: String) -> String { value == "gpt2" ? bundledDirectory : value }

    /// Reads `vocab.json` and `merges.txt` from `directory`.
    /// - Throws: ``DatasetError`` naming the file and what is wrong with it.
    public convenience init(directory: String) throws(DatasetError) {
        let vocabularyPath = directory + "/vocab.json", mergesPath = directory + "/merges.txt"
        try self.init(vocabulary: Self.read(vocabularyPath), vocabularyPath: vocabularyPath,
                      merges: Self.read(mergesPath), mergesPath: mergesPath, directory: directory)
    }

    /// A tokenizer from the bytes of a `vocab.json` (a JSON object from each token's text, under GPT-2's byte map,
    /// to its id) and a `merges.txt` (an optional `#version` line, then one pair a line, separated by a space, in
    /// rank order). The paths only name the files in errors.
    /// - Throws: ``DatasetError/malformed(path:reason:)`` naming the first entry that is not GPT-2's.
    public init(vocabulary: Data, vocabularyPath: String = "vocab.json", merges: Data,
                mergesPath: String = "merges.txt", directory: String? = nil) throws(DatasetError) {
        self.directory = directory
        guard let object = try? JSONSerialization.jsonObject(with: vocabulary), let entries = object as? [String: Any] else {
            throw .malformed(path: vocabularyPath, reason: "it is not a JSON object from token to id")
        }
        guard !entries.isEmpty, entries.count <= 1 << 24 else {
            throw .malformed(path: vocabularyPath, reason: "it holds \(entries.count) tokens (1 to 16,777,216 are read)")
        }
        let characterToByte = Self.characterToByte
        var bytes = [[UInt8]?](repeating: nil, count: entries.count)
        var idOfText: [String: Int32] = [:]
        idOfText.reserveCapacity(entries.count)
        for (text, value) in entries {
            guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue), (0..<entries.count).contains(id) else {
                throw .malformed(path: vocabularyPath, reason: "token \(Self.quoted(text)) has id \(value), not one of 0..<\(entries.count)")
            }
            guard bytes[id] == nil else {
                throw .malformed(path: vocabularyPath, reason: "id \(id) is given to two tokens")
            }
            var tokenBytes: [UInt8] = []
            for scalar in text.unicodeScalars {
                guard let byte = characterToByte[scalar] else {
                    throw .malformed(path: vocabularyPath,
                                             reason: "token \(Self.quoted(text)) holds U+\(String(scalar.value, radix: 16, uppercase: true)), outside GPT-2's byte map")
                }
                tokenBytes.append(byte)
            }
            guard !tokenBytes.isEmpty else { throw .malformed(path: vocabularyPath, reason: "a token is empty") }
            bytes[id] = tokenBytes
            idOfText[text] = Int32(id)
        }
        tokenBytes = bytes.map { $0 ?? [] }
        vocabularySize = entries.count
        var byteToken = [Int32](repeating: -1, count: 256)
        for (byte, character) in Self.byteToCharacter.enumerated() {
            guard let id = idOfText[String(Character(character))] else {
                throw .malformed(path: vocabularyPath, reason: "byte \(byte) has no token of its own")
            }
            byteToken[byte] = id
        }
        self.byteToken = byteToken
        endOfTextID = idOfText[Self.endOfText].map(Int.init)

        guard let text = String(data: merges, encoding: .utf8) else {
            throw .malformed(path: mergesPath, reason: "it is not UTF-8 text")
        }
        var table: [UInt64: (rank: Int32, token: Int32)] = [:]
        var rank: Int32 = 0
        // Lines end in LF, CRLF or CR (a Character "\r\n" is not "\n": split on the scalars).
        let lines = text.unicodeScalars.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r" }.map(String.init)
        for (index, line) in lines.enumerated() {
            if line.isEmpty || (index == 0 && line.hasPrefix("#version")) { continue }
            let halves = line.split(separator: " ", omittingEmptySubsequences: false)
            guard halves.count == 2, let left = idOfText[String(halves[0])], let right = idOfText[String(halves[1])],
                  let merged = idOfText[String(halves[0]) + String(halves[1])] else {
                throw .malformed(path: mergesPath,
                                         reason: "line \(index + 1) (\(Self.quoted(String(line)))) is not two tokens of vocab.json whose join is one too")
            }
            let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
            if table[key] == nil { table[key] = (rank, merged) }  // a repeated pair keeps its first (lowest) rank
            rank += 1
        }
        guard !table.isEmpty || entries.count <= 257 else {
            throw .malformed(path: mergesPath, reason: "it holds no merges, and vocab.json has tokens that only merges make")
        }
        self.merges = table
        fingerprint = Self.fnv1a(vocabulary) + Self.fnv1a(merges)
    }

    private static func fnv1a(_ data: Data) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return String(hash, radix: 16).leftPadded(to: 16)
    }

    private static func read(_ path: String) throws(DatasetError) -> Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .unreadable(path: path, reason: "no such file")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
    }

    private static func quoted(_ text: String) -> String {
        "\"" + String(text.unicodeScalars.prefix(40).map(Character.init)) + (text.unicodeScalars.count > 40 ? "…" : "") + "\""
    }

    // MARK: - GPT-2's byte map

    /// GPT-2's `bytes_to_unicode`: the printable bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves, the other
    /// 68 for U+0100 onwards, in byte order, so that every token is printable text.
    static let byteToCharacter: [Unicode.Scalar] = {
        var map = [Unicode.Scalar?](repeating: nil, count: 256)
        for byte in [Array(33...126), Array(161...172), Array(174...255)].joined() {
            map[byte] = Unicode.Scalar(UInt8(byte))
        }
        var next: UInt32 = 256
        for byte in 0..<256 where map[byte] == nil {
            map[byte] = Unicode.Scalar(next)
            next += 1
        }
        return map.map { $0! }
    }()

    static let characterToByte: [Unicode.Scalar: UInt8] = {
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (byte, character) in byteToCharacter.enumerated() { inverse[character] = UInt8(byte) }
        return inverse
    }()

    // MARK: - Encoding

    /// The ids of `text`: `<|endoftext|>` as its id wherever it appears, the rest by GPT-2's BPE.
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3)
        let scalars = Array(text.unicodeScalars)
        // The tokens of the pieces met so far: a text repeats its words.
        var cache: [[UInt8]: [Int]] = [:]
        var start = 0
        if let endOfTextID {
            let special = Array(Self.endOfText.unicodeScalars)
            var index = 0
            while index + special.count <= scalars.count {
                if scalars[index] == special[0] && scalars[index..<(index + special.count)].elementsEqual(special) {
                    encodeOrdinary(scalars[start..<index], into: &ids, cache: &cache)
                    ids.append(endOfTextID)
                    index += special.count
                    start = index
                } else {
                    index += 1
                }
            }
        }
        encodeOrdinary(scalars[start...], into: &ids, cache: &cache)
        return ids
    }

    /// `text` without special tokens: each piece of GPT-2's pattern by BPE.
    private func encodeOrdinary(_ text: ArraySlice<Unicode.Scalar>, into ids: inout [Int], cache: inout [[UInt8]: [Int]]) {
        var piece: [UInt8] = []
        Self.forEachPiece(of: text) { range in
            piece.removeAll(keepingCapacity: true)
            for scalar in text[range] { Self.appendUTF8(scalar, to: &piece) }
            if let known = cache[piece] {
                ids.append(contentsOf: known)
                return
            }
            let tokens = bytePairs(piece)
            if cache.count < 1 << 18 { cache[piece] = tokens }
            ids.append(contentsOf: tokens)
        }
    }

    private static func appendUTF8(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        if scalar.isASCII {
            bytes.append(UInt8(scalar.value))
        } else {
            bytes.append(contentsOf: UTF8.encode(scalar)!)
        }
    }

    /// The BPE of one piece's bytes: the adjacent pair of lowest rank merged, the leftmost of equals first. A
    /// long piece takes the O(n log n) way (`long`: which way, whatever the length; for tests).
    package func bytePairs(_ bytes: [UInt8], long: Bool? = nil) -> [Int] {
        var parts = bytes.map { byteToken[Int($0)] }
        if long ?? (parts.count > 64), parts.count > 1 { return longBytePairs(parts) }
        while parts.count > 1 {
            var best = Int32.max, at = -1, token: Int32 = 0
            for index in 0..<(parts.count - 1) {
                if let merge = merges[Self.key(parts[index], parts[index + 1])], merge.rank < best {
                    (best, at, token) = (merge.rank, index, merge.token)
                }
            }
            guard at >= 0 else { break }
            parts[at] = token
            parts.remove(at: at + 1)
        }
        return parts.map(Int.init)
    }

    /// The same merges for a long piece (a run of spaces or symbols), in O(n log n) instead of O(n²): the parts
    /// as a linked list and the candidate pairs in a heap by (rank, position), stale entries skipped when popped.
    private func longBytePairs(_ initial: [Int32]) -> [Int] {
        var token = initial
        var next = Array(1...initial.count), previous = Array(-1..<(initial.count - 1))
        var alive = [Bool](repeating: true, count: initial.count)
        var heap = PairHeap()
        func push(_ left: Int) {
            let right = next[left]
            guard right < token.count, let merge = merges[Self.key(token[left], token[right])] else { return }
            heap.push((merge.rank, left, token[left], token[right]))
        }
        for index in 0..<(initial.count - 1) { push(index) }
        while let (_, left, leftToken, rightToken) = heap.pop() {
            let right = next[left]
            guard alive[left], right < token.count, token[left] == leftToken, token[right] == rightToken,
                  let merge = merges[Self.key(leftToken, rightToken)] else { continue }
            token[left] = merge.token
            alive[right] = false
            next[left] = next[right]
            if next[right] < token.count { previous[next[right]] = left }
            push(left)
            if previous[left] >= 0 { push(previous[left]) }
        }
        var result: [Int] = []
        var index = 0
        while index < token.count {
            result.append(Int(token[index]))
            index = next[index]
        }
        return result
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 { UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)) }

    // MARK: - Pre-tokenization

    private enum Class { case letter, number, space, other }

    private static func classify(_ scalar: Unicode.Scalar) -> Class {
        if scalar.isASCII {
            switch scalar.value {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Calls `body` with each piece of GPT-2's pattern, in order (they tile `text`).
    static func forEachPiece(of text: ArraySlice<Unicode.Scalar>, _ body: (Range<Int>) -> Void) {
        let end = text.endIndex
        var index = text.startIndex
        func run(from start: Int, _ kind: Class) -> Int {
            var index = start
            while index < end, classify(text[index]) == kind { index += 1 }
            return index
        }
        while index < end {
            let scalar = text[index]
            // 's 't 're 've 'm 'll 'd (lowercase only, as the pattern has them).
            if scalar == "'", index + 1 < end {
                let first = text[index + 1]
                if first == "s" || first == "t" || first == "m" || first == "d" {
                    body(index..<(index + 2)); index += 2; continue
                }
                if index + 2 < end {
                    let second = text[index + 2]
                    if (first == "r" && second == "e") || (first == "v" && second == "e") || (first == "l" && second == "l") {
                        body(index..<(index + 3)); index += 3; continue
                    }
                }
            }
            let kind = classify(scalar)
            // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional space (U+0020 only) and a run of one class.
            let start = index
            var head = index, headKind = kind
            if scalar == " ", index + 1 < end {
                let following = classify(text[index + 1])
                if following != .space { head = index + 1; headKind = following }
            }
            if headKind != .space {
                let stop = run(from: head, headKind)
                body(start..<stop)
                index = stop
                continue
            }
            // "\s+(?!\S)|\s+": a whitespace run, less its last scalar when a non-space follows (which that scalar
            // then leads), unless the run is that one scalar.
            let stop = run(from: index, .space)
            let taken = stop < end && stop - index > 1 ? stop - 1 : stop
            body(index..<taken)
            index = taken
        }
    }

    // MARK: - Decoding

    /// The bytes of `ids`.
    /// - Throws: ``DatasetError/invalidArgument(name:value:)`` for an id outside the vocabulary.
    public func decodeBytes(_ ids: some Sequence<Int>) throws(DatasetError) -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            guard (0..<vocabularySize).contains(id) else {
                throw .invalidArgument(name: "token id (the vocabulary has ids 0 to \(vocabularySize - 1))", value: id)
            }
            bytes.append(contentsOf: tokenBytes[id])
        }
        return bytes
    }

    /// The text of `ids`, an id outside the vocabulary skipped as U+FFFD; bytes that are not UTF-8 become U+FFFD.
    public func decodeLossy(_ ids: some Sequence<Int>) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if (0..<vocabularySize).contains(id) { bytes.append(contentsOf: tokenBytes[id]) } else { bytes += [0xEF, 0xBF, 0xBD] }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The text of `ids`; bytes that are not UTF-8 (a character cut between tokens) become U+FFFD.
    /// - Throws: ``DatasetError/invalidArgument(name:value:)`` for an id outside the vocabulary.
    public func decode(_ ids: some Sequence<Int>) throws(DatasetError) -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }
}

/// A binary min-heap of candidate merges by (rank, position).
private struct PairHeap {
    typealias Entry = (rank: Int32, left: Int, leftToken: Int32, rightToken: Int32)
    private var entries: [Entry] = []

    private static func less(_ a: Entry, _ b: Entry) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.left < b.left }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < entries.count, Self.less(entries[left], entries[smallest]) { smallest = left }
                if right < entries.count, Self.less(entries[right], entries[smallest]) { smallest = right }
                guard smallest != parent else { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}

private extension String {
    func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
