import Datasets
import Foundation
import Testing
import TestSupport

/// GPT-2's byte-level BPE against tiktoken's `gpt2` encoding, id for id, and its round trip.
struct GPT2TokenizerTests {
    static func tokenizer() throws -> GPT2Tokenizer { try GPT2Tokenizer(directory: GPT2Tokenizer.bundledDirectory) }

    /// Every case of `gpt2_tokenizer.json`: the ids, and the text decoded back.
    @Test func everyReferenceCaseEncodesIdForId() throws {
        let tokenizer = try Self.tokenizer()
        for reference in try Fixtures.cases("gpt2_tokenizer.json") {
            try rejectUnknownKeys(of: reference, understood: ["name", "text", "ids", "decoded"], in: "gpt2_tokenizer.json")
            let name = try #require(reference["name"] as? String)
            let text = try #require(reference["text"] as? String), decoded = try #require(reference["decoded"] as? String)
            let ids = try #require(reference["ids"] as? [Int])
            let ours = tokenizer.encode(text)
            #expect(ours == ids, "\(name): first difference at \(zip(ours, ids).enumerated().first { $1.0 != $1.1 }?.offset ?? min(ours.count, ids.count))")
            #expect(try tokenizer.decode(ids) == decoded, "\(name)")
        }
    }

    /// nanoGPT's `data/shakespeare/prepare.py` cuts Tiny Shakespeare at 90% of its characters and encodes each part
    /// with tiktoken's gpt2: 301,966 and 36,059 tokens, as its readme reports.
    @Test func tinyShakespeareHasNanoGPTsTokenCounts() throws {
        let tokenizer = try Self.tokenizer()
        let text = try String(contentsOfFile: TextCorpus.tinyShakespeare, encoding: .utf8)
        let cut = text.index(text.startIndex, offsetBy: Int(Double(text.count) * 0.9))
        let train = tokenizer.encode(String(text[..<cut])), validation = tokenizer.encode(String(text[cut...]))
        #expect(train.count == 301_966 && validation.count == 36_059)
        #expect(try tokenizer.decode(train + validation) == text)
    }

    /// decode(encode(text)) == text for random text over every kind of scalar the pattern tells apart: letters
    /// and numbers of other scripts, marks, symbols, emoji, every whitespace, apostrophes and the special token.
    @Test func anyTextRoundTrips() throws {
        let tokenizer = try Self.tokenizer()
        let pieces = ["'s", "'ll", "'RE", "'", " ", "  ", "\n", "\r\n", "\t", "\u{A0}", "\u{2003}", "\u{85}", "a", "Zé",
                      "ß", "日本語", "한국어", "Ωμέγα", "٣٤", "Ⅻ", "½", "12", "3.5", "e\u{301}", "😀", "👩‍👩‍👧", "🇫🇷",
                      "$", "€", "...", "<|endoftext|>", "<|end", "\u{0}", "\u{FFFD}", "\u{10FFFF}", "\u{E000}"]
        var random = SplitMix(state: 0x5EED)
        for _ in 0..<300 {
            let text = (0..<Int.random(in: 0...40, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let ids = tokenizer.encode(text)
            #expect(try tokenizer.decode(ids) == text, "\(text.debugDescription)")
            #expect(ids.allSatisfy { (0..<tokenizer.vocabularySize).contains($0) })
        }
        // Arbitrary scalars, one at a time and in runs.
        for _ in 0..<200 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 1...30, using: &random) {
                let value = UInt32.random(in: 0...0x10FFFF, using: &random)
                scalars.append(Unicode.Scalar(value) ?? "x")
            }
            let text = String(scalars)
            #expect(try tokenizer.decode(tokenizer.encode(text)) == text)
        }
    }

    /// The special token is its id wherever it appears, and its pieces around it are encoded on their own.
    @Test func endOfTextIsOneToken() throws {
        let tokenizer = try Self.tokenizer()
        #expect(tokenizer.endOfTextID == 50256 && tokenizer.vocabularySize == 50257)
        let hello = tokenizer.encode("Hello"), world = tokenizer.encode(" world")
        #expect(tokenizer.encode("Hello<|endoftext|> world") == hello + [50256] + world)
        #expect(tokenizer.encode("<|endoftext|><|endoftext|>") == [50256, 50256])
        #expect(tokenizer.encode("") == [])
    }

    /// A long piece (a run of spaces, symbols or letters) merges by the heap as the plain loop does.
    @Test func longPiecesMergeAsShortOnes() throws {
        let tokenizer = try Self.tokenizer()
        let texts = [String(repeating: " ", count: 300), String(repeating: "=-", count: 200), String(repeating: "a", count: 513),
                     String(repeating: "antidisestablishmentarianism", count: 20), String(repeating: "日本", count: 90)]
        for text in texts {
            let bytes = Array(text.utf8)
            #expect(tokenizer.bytePairs(bytes, long: true) == tokenizer.bytePairs(bytes, long: false))
        }
        for word in ["Hello", "tokenization", "Shakespeare", " the", "€"] {
            let bytes = Array(word.utf8)
            #expect(tokenizer.bytePairs(bytes, long: true) == tokenizer.bytePairs(bytes, long: false))
        }
    }

    @Test func decodeRefusesAnIdOutsideTheVocabulary() throws {
        let tokenizer = try Self.tokenizer()
        #expect(throws: DatasetError.self) { try tokenizer.decode([50257]) }
        #expect(throws: DatasetError.self) { try tokenizer.decode([-1]) }
    }

    /// Files that are not GPT-2's are refused naming the file and the entry.
    @Test func malformedFilesAreRefused() throws {
        let bytes = (0..<256).map { byte -> String in
            let scalar = Self.printable(UInt8(byte))
            return "\"\(scalar == "\"" ? "\\\"" : scalar == "\\" ? "\\\\" : String(scalar))\": \(byte)"
        }
        let vocabulary = "{" + bytes.joined(separator: ", ") + ", \"ab\": 256}"
        let good = try GPT2Tokenizer(vocabulary: Data(vocabulary.utf8), merges: Data("#version: 0.2\na b\n".utf8))
        #expect(good.encode("abab") == [256, 256])
        func refusal(_ vocabulary: String, _ merges: String) -> String? {
            do {
                _ = try GPT2Tokenizer(vocabulary: Data(vocabulary.utf8), merges: Data(merges.utf8))
                return nil
            } catch {
                return "\(error)"
            }
        }
        // Windows line ends read as line ends; a vocabulary with merged tokens and no merges is refused.
        let crlf = try GPT2Tokenizer(vocabulary: Data(vocabulary.utf8), merges: Data("#version: 0.2\r\na b\r\n".utf8))
        #expect(crlf.encode("abab") == [256, 256])
        let twoMerged = vocabulary.replacingOccurrences(of: "\"ab\": 256}", with: "\"ab\": 256, \"ba\": 257}")
        #expect(refusal(twoMerged, "#version: 0.2\r\n")?.contains("holds no merges") == true)
        #expect(refusal("[1, 2]", "")?.contains("vocab.json") == true)
        #expect(refusal(vocabulary.replacingOccurrences(of: "\"ab\": 256", with: "\"ab\": 300"), "")?.contains("\"ab\"") == true)
        #expect(refusal(vocabulary.replacingOccurrences(of: "\"ab\": 256", with: "\"ab\": 7"), "")?.contains("id 7") == true)
        #expect(refusal(vocabulary.replacingOccurrences(of: "\"ab\": 256", with: "\"a b\": 256"), "")?.contains("U+20") == true)
        #expect(refusal(vocabulary, "a b\nb c\n")?.contains("line 2") == true)
        #expect(refusal(vocabulary, "a  b\n")?.contains("line 1") == true)
        #expect(throws: DatasetError.self) { try GPT2Tokenizer(directory: "/nonexistent-gpt2") }
    }

    /// GPT-2's byte map: the printable byte itself, the others from U+0100 in byte order.
    private static func printable(_ byte: UInt8) -> Unicode.Scalar {
        let kept = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
        if kept { return Unicode.Scalar(byte) }
        let before = (0..<Int(byte)).filter { !((33...126).contains($0) || (161...172).contains($0) || (174...255).contains($0)) }.count
        return Unicode.Scalar(UInt32(256 + before))!
    }
}

/// A seeded generator, so that a failing text can be found again.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
