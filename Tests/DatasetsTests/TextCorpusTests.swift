import Autograd
import Datasets
import Foundation
import Testing

/// Tiny Shakespeare as nanoGPT's shakespeare_char prepares it: 65 characters, a 90/10 split, shifted windows.
struct TextCorpusTests {
    @Test func tinyShakespeareHasNanoGPTsVocabularyAndSplit() throws {
        let corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare)
        #expect(corpus.tokens.count == 1_115_394)
        #expect(corpus.vocabularySize == 65)
        // nanoGPT: chars = sorted(list(set(data))), so "\n", " ", "!" … "z".
        #expect(corpus.characters?.scalars.first == "\n" && corpus.characters?.scalars[1] == " " && corpus.characters?.scalars.last == "z")
        #expect(corpus.tokens(of: .train).count == 1_003_854 && corpus.tokens(of: .validation).count == 111_540)
        #expect(corpus.decode(Array(corpus.tokens.prefix(14))) == "First Citizen:")
    }

    /// nanoGPT's `shakespeare/prepare.py`: the text cut at 90% of its characters, each part encoded with GPT-2's BPE
    /// on its own: 301,966 and 36,059 tokens.
    @Test func aBytePairCorpusSplitsAsNanoGPTsShakespeare() throws {
        let bpe = try GPT2Tokenizer(directory: GPT2Tokenizer.bundledDirectory)
        let corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare, tokenizer: .gpt2(bpe))
        #expect(corpus.tokens(of: .train).count == 301_966 && corpus.tokens(of: .validation).count == 36_059)
        #expect(corpus.vocabularySize == 50257 && corpus.characters == nil)
        #expect(corpus.decode(Array(corpus.tokens.prefix(3))) == "First Citizen:")
        #expect(try corpus.encode("First Citizen:") == Array(corpus.tokens.prefix(3)))
    }

    @Test func encodingAndDecodingRoundTripAndAnUnknownCharacterIsNamed() throws {
        let corpus = try TextCorpus(text: "hello world, hello corpus! ")
        let tokens = try corpus.encode("hello corpus")
        #expect(corpus.decode(tokens) == "hello corpus")
        #expect(corpus.characters?.scalars == [" ", "!", ",", "c", "d", "e", "h", "l", "o", "p", "r", "s", "u", "w"])
        #expect(throws: DatasetError.unknownCharacter("Z")) { _ = try corpus.encode("hello Zed") }
        #expect("\(DatasetError.unknownCharacter("Z"))" == #"the character "Z" is not in the vocabulary"#)
        #expect(throws: DatasetError.self) { _ = try TextCorpus(text: "short") }
    }

    /// A text is read from a file or a stream (a FIFO) alike; a folder or a missing file is named as such.
    @Test func aTextIsReadFromAFileOrAStream() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let text = String(repeating: "To be, or not to be\n", count: 50)
        let file = folder.appendingPathComponent("text.txt").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let fifo = folder.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: fifo) else { return }
            handle.write(Data(text.utf8))
            try? handle.close()
        }
        writer.start()
        let streamed = try TextCorpus(contentsOf: fifo)
        #expect(streamed.tokens == (try TextCorpus(contentsOf: file)).tokens && streamed.tokens.count == text.unicodeScalars.count)
        #expect(throws: DatasetError.unreadable(path: folder.path, reason: "it is a folder, not a text file")) {
            _ = try TextCorpus(contentsOf: folder.path)
        }
        #expect(throws: DatasetError.unreadable(path: folder.path + "/none", reason: "No such file or directory")) {
            _ = try TextCorpus(contentsOf: folder.path + "/none")
        }
        try Data([0x61, 0xFF, 0x62] + Array(repeating: 0x61, count: 30)).write(to: URL(fileURLWithPath: file))
        #expect(throws: DatasetError.unreadable(path: file, reason: "it is not UTF-8 text")) { _ = try TextCorpus(contentsOf: file) }
    }

    @Test func batchesAreShiftedWindowsDrawnFromTheSeed() throws {
        let corpus = try TextCorpus(text: String(repeating: "abcdefghij", count: 20))
        var first = RandomGenerator(seed: 3), second = RandomGenerator(seed: 3)
        let a = corpus.batch(.train, batchSize: 5, context: 8, using: &first)
        let b = corpus.batch(.train, batchSize: 5, context: 8, using: &second)
        #expect(a.inputs == b.inputs && a.targets == b.targets, "the same seed, the same batch")
        for (input, target) in zip(a.inputs, a.targets) {
            #expect(input.count == 8 && Array(input.dropFirst()) == Array(target.dropLast()))
            // The text cycles through ten letters: each target is its input's next letter.
            #expect(zip(input, target).allSatisfy { ($0 + 1) % 10 == $1 })
        }
        let validation = corpus.batch(.validation, batchSize: 3, context: 4, using: &first)
        #expect(validation.inputs.allSatisfy { $0.count == 4 })
        #expect(corpus.maximumContext == 19)
    }
}
