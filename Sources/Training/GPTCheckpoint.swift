import Checkpoints
import Datasets
import Foundation
import NN
import Optim

/// How a GPT's weights, shape and vocabulary sit in a checkpoint, so that the file is a nanoGPT model too:
///
/// - the weights under nanoGPT's names at the top level (`transformer.wte.weight`, …), with `lm_head.weight` as
///   well when it is tied to the embedding (PyTorch's `state_dict()` lists both), so that
///   `model.load_state_dict({k: v for k, v in f.items() if not k.startswith("optimizer.")})` takes them as they are;
/// - the configuration in `__metadata__` under nanoGPT's `model_args` keys (`n_layer`, `n_head`, `n_embd`,
///   `block_size`, `vocab_size`, `bias`, `dropout`), as JSON values, `tie_weights`, `gelu`, and `layer_norm_epsilon`
///   when it is not 1e-5;
/// - `vocabulary`: the characters in token order, as a JSON string (nanoGPT's `meta.pkl` `itos`); or, for a model
///   of GPT-2's BPE, `tokenizer` = `gpt2-bpe` and `tokenizer_fingerprint` (``Datasets/GPT2Tokenizer/fingerprint``:
///   the files are not copied, and a run or a sample finds the same ones or refuses).
///
/// ``model(from:)`` rebuilds the model from these alone (what `adamw gpt sample` needs), after checking every value
/// it reads as the flags are checked.
public enum GPTCheckpoint {
    /// How a checkpoint's model reads text: its characters, or the GPT-2 BPE of the given fingerprint.
    public enum Tokenization: Equatable, Sendable {
        case characters(CharacterVocabulary)
        case gpt2(fingerprint: String)

        public init(_ tokenizer: TextTokenizer) {
            switch tokenizer {
            case .characters(let vocabulary): self = .characters(vocabulary)
            case .gpt2(let tokenizer): self = .gpt2(fingerprint: tokenizer.fingerprint)
            }
        }

        /// The tokenizer itself: the characters, or the BPE of `directory` (a `vocab.json` and `merges.txt`).
        /// - Throws: ``Optim/StateMismatch`` when the directory's files are not the ones the model was trained
        ///   with, or cannot be read.
        public func tokenizer(gpt2Directory directory: String) throws(StateMismatch) -> TextTokenizer {
            switch self {
            case .characters(let vocabulary): return .characters(vocabulary)
            case .gpt2(let fingerprint):
                let tokenizer: GPT2Tokenizer
                do {
                    tokenizer = try GPT2Tokenizer(directory: directory)
                } catch {
                    throw StateMismatch("GPT-2 tokenizer", problems: ["\(error)"])
                }
                guard tokenizer.fingerprint == fingerprint else {
                    throw StateMismatch("GPT-2 tokenizer", problems: [
                        "the vocab.json and merges.txt of \(directory) are not the ones the model was trained with (fingerprint \(tokenizer.fingerprint), the checkpoint's \(fingerprint))",
                    ])
                }
                return .gpt2(tokenizer)
            }
        }
    }

    /// The model's tensors and metadata, for a character model (nanoGPT's `shakespeare_char`).
    public static func state(of model: GPT, vocabulary: CharacterVocabulary) -> StateDict {
        state(of: model, tokenizer: .characters(vocabulary))
    }

    /// The model's tensors and metadata.
    public static func state(of model: GPT, tokenizer: TextTokenizer) -> StateDict {
        var state = model.stateDict()
        if model.configuration.tiedEmbedding { state.tensors["lm_head.weight"] = state.tensors["transformer.wte.weight"] }
        let c = model.configuration
        state.metadata = [
            "n_layer": String(c.layers), "n_head": String(c.heads), "n_embd": String(c.embedding),
            "block_size": String(c.blockSize), "vocab_size": String(c.vocabularySize), "bias": String(c.bias),
            "dropout": String(c.dropout), "tie_weights": String(c.tiedEmbedding), "gelu": c.gelu.rawValue,
        ]
        switch tokenizer {
        case .characters(let vocabulary): state.metadata["vocabulary"] = (try? StateJSON.encode(vocabulary.text)) ?? ""
        case .gpt2(let bpe): (state.metadata["tokenizer"], state.metadata["tokenizer_fingerprint"]) = ("gpt2-bpe", bpe.fingerprint)
        }
        // Written only when not nanoGPT's (PyTorch's default), so that every checkpoint before keeps its bytes.
        if c.layerNormEpsilon != 1e-5 { state.metadata["layer_norm_epsilon"] = String(c.layerNormEpsilon) }
        return state
    }

    /// The configuration and tokenization a checkpoint's metadata describes.
    /// - Throws: ``Optim/StateMismatch`` naming each key that is missing or out of range.
    public static func configuration(in state: StateDict) throws(StateMismatch) -> (GPT.Configuration, Tokenization) {
        var problems: [String] = []
        func count(_ key: String, _ range: ClosedRange<Int>) -> Int {
            guard let text = state.metadata[key], let value = Int(text), range.contains(value) else {
                problems.append("\(key) is \(state.metadata[key].map { "'\($0)'" } ?? "missing"), expected an integer in \(range.lowerBound)...\(range.upperBound)")
                return range.lowerBound
            }
            return value
        }
        func flag(_ key: String) -> Bool {
            guard let text = state.metadata[key], let value = Bool(text) else {
                problems.append("\(key) is \(state.metadata[key].map { "'\($0)'" } ?? "missing"), expected true or false")
                return false
            }
            return value
        }
        let layers = count("n_layer", 1...1024), heads = count("n_head", 1...1024)
        let embedding = count("n_embd", 1...65_536), blockSize = count("block_size", 1...1_048_576)
        let vocabularySize = count("vocab_size", 1...1_114_112)
        let bias = flag("bias"), tied = flag("tie_weights")
        let dropout = state.metadata["dropout"].flatMap(Double.init) ?? .nan
        if !(0..<1).contains(dropout) { problems.append("dropout is \(state.metadata["dropout"] ?? "missing"), expected a number in [0, 1)") }
        let gelu = state.metadata["gelu"].flatMap(GELUApproximation.init(rawValue:))
        if gelu == nil { problems.append("gelu is \(state.metadata["gelu"] ?? "missing"), expected none or tanh") }
        let epsilon = state.metadata["layer_norm_epsilon"].map { Double($0) ?? .nan } ?? 1e-5
        if !(epsilon.isFinite && epsilon > 0) {
            problems.append("layer_norm_epsilon is '\(state.metadata["layer_norm_epsilon"] ?? "")', expected a positive number")
        }
        if embedding % heads != 0 { problems.append("n_embd \(embedding) is not a multiple of n_head \(heads)") }
        var tokenization: Tokenization?
        if let kind = state.metadata["tokenizer"] {
            let fingerprint = state.metadata["tokenizer_fingerprint"] ?? ""
            if kind != "gpt2-bpe" {
                problems.append("tokenizer is '\(kind)', expected gpt2-bpe (or none: a character vocabulary)")
            } else if fingerprint.count != 32 || !fingerprint.allSatisfy(\.isHexDigit) {
                problems.append("tokenizer_fingerprint is '\(fingerprint)', expected 32 hexadecimal digits")
            } else {
                tokenization = .gpt2(fingerprint: fingerprint)
            }
        } else {
            let vocabulary = state.metadata["vocabulary"].flatMap { StateJSON.decode(String.self, from: $0) }
                .flatMap(CharacterVocabulary.init(text:))
            if let vocabulary, vocabulary.count != vocabularySize {
                problems.append("the vocabulary has \(vocabulary.count) characters, vocab_size is \(vocabularySize)")
            } else if let vocabulary {
                tokenization = .characters(vocabulary)
            } else {
                problems.append("the vocabulary is missing or not distinct characters in code-point order")
            }
        }
        guard problems.isEmpty, let tokenization, let gelu else { throw StateMismatch("GPT configuration", problems: problems) }
        let configuration = GPT.Configuration(
            vocabularySize: vocabularySize, blockSize: blockSize, layers: layers, heads: heads, embedding: embedding,
            dropout: dropout, bias: bias, tiedEmbedding: tied, gelu: gelu, layerNormEpsilon: epsilon)
        return (configuration, tokenization)
    }

    /// Loads the model's weights from `state` (its top-level tensors; `optimizer.` ones are not the model's).
    /// - Throws: ``Optim/StateMismatch`` for a missing, extra or misshapen tensor, or a tied `lm_head.weight` that
    ///   differs from `transformer.wte.weight`; the model is unchanged then.
    public static func load(_ state: StateDict, into model: GPT) throws(StateMismatch) {
        var weights = StateDict(tensors: state.tensors.filter { !$0.key.hasPrefix("optimizer.") })
        // Compared bit for bit: a copy is equal to its original even where it holds NaN (which the model's own
        // check then names).
        if model.configuration.tiedEmbedding, let head = weights.tensors.removeValue(forKey: "lm_head.weight"),
           let embedding = weights.tensors["transformer.wte.weight"],
           head.shape != embedding.shape || head.elementType != embedding.elementType
            || !head.values.isBitwiseEqual(to: embedding.values) {
            throw StateMismatch("model state", problems: ["lm_head.weight differs from transformer.wte.weight, to which it is tied"])
        }
        try model.load(stateDict: weights)
    }

    /// The model a checkpoint holds, in evaluation mode, and how it reads text.
    /// - Throws: ``Optim/StateMismatch`` as ``configuration(in:)`` and ``load(_:into:)``, and for a configuration
    ///   larger than the tensors the file holds (checked before anything is allocated).
    public static func model(from state: StateDict) throws(StateMismatch) -> (GPT, Tokenization) {
        let (configuration, tokenization) = try configuration(in: state)
        let stored = state.tensors.filter { !$0.key.hasPrefix("optimizer.") }.values.reduce(0) { $0 + $1.values.count }
        guard let needed = parameterCount(configuration), needed <= stored else {
            throw StateMismatch("GPT configuration", problems: ["it describes more weights than the file holds (\(stored))"])
        }
        let model = GPT(configuration)
        try load(state, into: model)
        model.eval()
        return (model, tokenization)
    }

    /// The number of weights of a model of `c`, or nil when it overflows.
    public static func parameterCount(_ c: GPT.Configuration) -> Int? {
        let e = c.embedding
        let perLayer = [2 * e, 3 * e * e, e * e, 4 * e * e, 4 * e * e] + (c.bias ? [2 * e, 3 * e, e, 4 * e, e] : [])
        var total = (c.vocabularySize + c.blockSize) * e + e * (c.bias ? 2 : 1) + (c.tiedEmbedding ? 0 : c.vocabularySize * e)
        for _ in 0..<c.layers {
            for part in perLayer {
                let (sum, overflow) = total.addingReportingOverflow(part)
                guard !overflow else { return nil }
                total = sum
            }
        }
        return total
    }
}
