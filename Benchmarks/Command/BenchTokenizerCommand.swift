import ArgumentParser
import CommandSupport
import Datasets
import Foundation
import Kernels

struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Seconds and MB/s of GPT-2's BPE encoding a text (default Tiny Shakespeare), next to tiktoken's.",
        discussion: """
            Each repeat builds a new tokenizer from Data/gpt2 (so its cache of pieces starts empty) and encodes the \
            whole text; the median of the repeats is printed, and the loading time apart. tiktoken is measured in \
            the same run, single-threaded, from the same vocab.json (its ranks are GPT-2's ids) and pattern, when \
            $PYTHON (default python3) can import it.
            """
    )

    @Option(help: "A UTF-8 text to encode (default: Tiny Shakespeare).")
    var text: String?

    @Option(help: "Repeats (default 5).")
    var repeats = 5

    @Flag(help: "Skip the tiktoken comparison.")
    var noTiktoken = false

    func validate() throws {
        guard (1...100).contains(repeats) else { throw ValidationError("--repeats must be between 1 and 100, got \(repeats)") }
    }

    func run() throws {
        let path = text ?? TextCorpus.tinyShakespeare
        let contents: String
        do {
            contents = try TextCorpus.text(contentsOf: path)
        } catch {
            throw Refusal("\(error)")
        }
        let bytes = Double(contents.utf8.count)
        var loads: [Double] = [], encodes: [Double] = []
        var count = 0
        for _ in 0..<repeats {
            let start = monotonicSeconds()
            let tokenizer: GPT2Tokenizer
            do {
                tokenizer = try GPT2Tokenizer(directory: GPT2Tokenizer.bundledDirectory)
            } catch {
                throw Refusal("\(error)")
            }
            let loaded = monotonicSeconds()
            count = tokenizer.encode(contents).count
            encodes.append(monotonicSeconds() - loaded)
            loads.append(loaded - start)
        }
        let ours = median(encodes)
        print("text: \(path) (\(Int(bytes)) bytes, \(count) tokens)")
        print("adamw   load_s=\(format(median(loads), 3)) encode_s=\(format(ours, 3)) MB_per_s=\(format(bytes / ours / 1e6, 2))")
        guard !noTiktoken else { return }
        guard let theirs = Tiktoken.measure(path: path, repeats: repeats) else {
            print("tiktoken skipped: $PYTHON cannot import tiktoken")
            return
        }
        if theirs.tokens != count { print("tiktoken gives \(theirs.tokens) tokens, not \(count)") }
        print("tiktoken encode_s=\(format(theirs.seconds, 3)) MB_per_s=\(format(bytes / theirs.seconds / 1e6, 2))")
        print("ratio adamw/tiktoken time=\(format(ours / theirs.seconds, 2))")
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}

/// tiktoken's `gpt2` encoding built offline from the repository's `vocab.json` and GPT-2's pattern, timed in a
/// Python of `$PYTHON` (default python3).
enum Tiktoken {
    static func measure(path: String, repeats: Int) -> (seconds: Double, tokens: Int)? {
        let script = """
            import json, sys, time
            import tiktoken
            vocab = json.load(open(sys.argv[1] + "/vocab.json", encoding="utf-8"))
            bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
            cs = bs[:]
            n = 0
            for b in range(256):
                if b not in bs:
                    bs.append(b); cs.append(256 + n); n += 1
            byte_of = {chr(c): b for b, c in zip(bs, cs)}
            ranks = {bytes(byte_of[ch] for ch in token): i for token, i in vocab.items() if token != "<|endoftext|>"}
            pattern = r"'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
            enc = tiktoken.Encoding("gpt2-local", pat_str=pattern, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})
            text = open(sys.argv[2], encoding="utf-8").read()
            times = []
            for _ in range(int(sys.argv[3])):
                start = time.perf_counter(); ids = enc.encode(text, allowed_special="all"); times.append(time.perf_counter() - start)
            times.sort()
            print(times[len(times) // 2], len(ids))
            """
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        guard let output = PythonScript.output(script, python: python, arguments: [GPT2Tokenizer.bundledDirectory, path, String(repeats)],
                                               environment: ["RAYON_NUM_THREADS": "1"]) else { return nil }
        let fields = output.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let seconds = Double(fields[0]), let tokens = Int(fields[1]) else { return nil }
        return (seconds, tokens)
    }
}
