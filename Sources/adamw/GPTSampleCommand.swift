import ArgumentParser
import Autograd
import Checkpoints
import CommandSupport
import Datasets
import Experiments
import NN
import Training

/// `adamw gpt sample`: text from a checkpoint of `adamw gpt` or a Hugging Face GPT-2 folder, as nanoGPT's
/// `sample.py`. A character checkpoint holds the model's configuration and vocabulary, so nothing else is needed; a
/// BPE one names the tokenizer files it was trained with by their fingerprint.
struct GPTSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write text from a GPT checkpoint (adamw gpt --save): the prompt, then --tokens characters.",
        discussion: """
            Each character is drawn from the softmax of the logits divided by --temperature, keeping the --top-k \
            most likely, with the context cropped to the model's block size. A prompt character outside the \
            checkpoint's vocabulary is refused.
            """
    )

    @Option(help: "The checkpoint (safetensors) written by adamw gpt --save.")
    var checkpoint: String?

    @Option(help: "Instead of --checkpoint, a Hugging Face GPT-2 folder (config.json, model.safetensors, vocab.json, merges.txt).")
    var fromPretrained: String?

    @Option(help: "The folder of a GPT-2 BPE checkpoint's vocab.json and merges.txt, or gpt2 for Data/gpt2 (the default; the files it was trained with).")
    var tokenizer: String?

    @Option(help: "The text to continue (default: a newline, as nanoGPT's sample.py; for a text without newlines, its first character in code-point order).")
    var prompt: String?

    @Option(parsing: .unconditional, help: "Tokens to write after the prompt: characters, or GPT-2 BPE tokens (default 500).")
    var tokens = 500

    @Option(parsing: .unconditional, help: "Divides the logits: below 1 is more conservative (default 0.8).")
    var temperature = 0.8

    @Option(parsing: .unconditional, help: "Keep only the this many most likely characters (default 200).")
    var topK = 200

    @Option(parsing: .unconditional, help: "Seed of the draws (default 1).")
    var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "Threads (default: every processor).")
    var threads: Int?

    func validate() throws {
        guard (0...1_000_000).contains(tokens) else { throw ValidationError("--tokens must be between 0 and 1000000, got \(tokens)") }
        guard temperature.isFinite, temperature > 0 else {
            throw ValidationError("--temperature must be a positive number, got \(temperature)")
        }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1, got \(topK)") }
        guard prompt?.isEmpty != true else { throw ValidationError("--prompt must hold at least one character") }
        try ThreadsOption.check(threads)
        guard (checkpoint == nil) != (fromPretrained == nil) else {
            throw ValidationError("give one of --checkpoint and --from-pretrained")
        }
    }

    func run() throws {
        let model: GPT, reader: TextTokenizer
        if let checkpoint {
            let state = try RunFlags.readCheckpoint(checkpoint, flag: "--checkpoint")
            do {
                let (loaded, tokenization) = try GPTCheckpoint.model(from: state)
                model = loaded
                reader = try tokenization.tokenizer(gpt2Directory: tokenizer.map(GPT2Tokenizer.directory(named:)) ?? GPT2Tokenizer.bundledDirectory)
            } catch {
                throw Refusal("--checkpoint \(checkpoint): \(error)")
            }
        } else {
            let folder = fromPretrained ?? ""
            do {
                model = try HuggingFaceGPT2.load(directory: folder)
                model.eval()
                reader = .gpt2(try GPT2Tokenizer(directory: tokenizer.map(GPT2Tokenizer.directory(named:)) ?? folder))
            } catch {
                throw Refusal("--from-pretrained \(error)")
            }
        }
        guard model.configuration.vocabularySize == reader.vocabularySize else {
            throw Refusal("the model's vocab_size is \(model.configuration.vocabularySize), its tokenizer's vocabulary \(reader.vocabularySize): they must agree")
        }
        let start: [Int]
        do {
            let newline = reader.characters.map { $0.scalars.contains("\n") ? "\n" : String($0.scalars[0]) } ?? "\n"
            start = try reader.encode(prompt ?? newline)
        } catch {
            throw Refusal("--prompt: \(error) of this checkpoint")
        }
        var random = RandomGenerator(seed: seed)
        let text = try ThreadsOption.run(threads) {
            try model.generate(from: start, count: tokens, temperature: temperature, topK: topK, using: &random)
        }
        print(reader.decode(text))
    }
}
