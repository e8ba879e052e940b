import Checkpoints
import Datasets
import Foundation
import NN
import Optim

/// A Hugging Face GPT-2 directory (`GPT2LMHeadModel.save_pretrained`'s `config.json` and `model.safetensors`, with
/// the tokenizer's `vocab.json` and `merges.txt`) read into a ``NN/GPT`` and written from one.
///
/// GPT-2 is nanoGPT's architecture with biases, `gelu_new` (GELU's tanh approximation) and a tied output layer, so
/// the tensors are the GPT's own under the same names, with two differences of layout: the Hub's files name them
/// without the `transformer.` prefix that `save_pretrained` writes (both are read), and GPT-2's `Conv1D` layers
/// (`attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`) store their weight as [in, out], the transpose of a
/// `Linear`'s. `lm_head.weight` is not stored when tied: it is `transformer.wte.weight`.
///
/// ```swift
/// let model = try HuggingFaceGPT2.load(directory: "gpt2")           // config.json + model.safetensors
/// try HuggingFaceGPT2.save(model, to: "gpt2-finetuned", tokenizerFrom: "gpt2")
/// ```
public enum HuggingFaceGPT2 {
    /// Why a directory was not read or written: one line naming the file and what is wrong.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// GPT-2 small (124M) as `GPT2Config()` defines it: 12 layers, 12 heads, 768 wide, 1024 positions, the 50,257
    /// tokens of GPT-2's BPE, biases, `gelu_new`, tied; no dropout (what `adamw gpt train --tokenizer gpt2` trains
    /// from scratch; a folder's own config, such as the Hub's 0.1, is kept by `--from-pretrained`).
    public static let small = GPT.Configuration(
        vocabularySize: 50257, blockSize: 1024, layers: 12, heads: 12, embedding: 768, dropout: 0, bias: true,
        tiedEmbedding: true, gelu: .tanh, layerNormEpsilon: 1e-5)

    /// The weights stored [in, out] by GPT-2's `Conv1D`, by the end of their names.
    static let conv1DSuffixes = [".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"]

    static func isConv1D(_ name: String) -> Bool { conv1DSuffixes.contains { name.hasSuffix($0) } }

    // MARK: - config.json

    /// The model a `config.json` describes, every value checked; keys it does not name take `GPT2Config`'s defaults.
    /// - Throws: ``Failure`` naming the first key that is not a GPT-2 this package can build (another
    ///   `model_type`, an activation other than GELU, unequal dropouts, cross-attention, …).
    public static func configuration(json data: Data, path: String = "config.json") throws(Failure) -> GPT.Configuration {
        guard let object = try? JSONSerialization.jsonObject(with: data), let config = object as? [String: Any] else {
            throw Failure("\(path) is not a JSON object")
        }
        func fail(_ key: String, _ expected: String) -> Failure {
            Failure("\(path): \(key) is \(config[key].map { "\($0)" } ?? "missing"), expected \(expected)")
        }
        func integer(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(Failure) -> Int {
            guard let value = config[key] else { return fallback }
            guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue),
                  range.contains(integer) else { throw fail(key, "an integer in \(range.lowerBound)...\(range.upperBound)") }
            return integer
        }
        func number(_ key: String, _ fallback: Double) throws(Failure) -> Double {
            guard let value = config[key] else { return fallback }
            guard let number = value as? NSNumber, number.doubleValue.isFinite else { throw fail(key, "a number") }
            return number.doubleValue
        }
        func flag(_ key: String, _ fallback: Bool) throws(Failure) -> Bool {
            guard let value = config[key] else { return fallback }
            guard let flag = value as? Bool else { throw fail(key, "true or false") }
            return flag
        }
        let modelType = config["model_type"] as? String
        guard modelType == "gpt2" else {
            throw fail("model_type", "\"gpt2\" (this package loads GPT-2's architecture only)")
        }
        let gelu: GELUApproximation
        switch config["activation_function"] as? String ?? "gelu_new" {
        case "gelu_new", "gelu_pytorch_tanh": gelu = .tanh
        case "gelu": gelu = .none
        default: throw fail("activation_function", "gelu_new, gelu_pytorch_tanh or gelu")
        }
        let layers = try integer("n_layer", 12, 1...1024), heads = try integer("n_head", 12, 1...1024)
        let embedding = try integer("n_embd", 768, 1...65_536), positions = try integer("n_positions", 1024, 1...1_048_576)
        let vocabulary = try integer("vocab_size", 50257, 1...16_777_216)
        guard embedding % heads == 0 else { throw fail("n_embd", "a multiple of n_head (\(heads))") }
        if let inner = config["n_inner"], !(inner is NSNull) {
            guard let number = inner as? NSNumber, number.intValue == 4 * embedding else { throw fail("n_inner", "null or 4 × n_embd (\(4 * embedding))") }
        }
        var dropouts: [Double] = []
        for key in ["embd_pdrop", "attn_pdrop", "resid_pdrop"] { dropouts.append(try number(key, 0.1)) }
        guard dropouts.allSatisfy({ $0 == dropouts[0] }), (0..<1).contains(dropouts[0]) else {
            throw Failure("\(path): embd_pdrop, attn_pdrop and resid_pdrop are \(dropouts.map { "\($0)" }.joined(separator: ", ")); this GPT takes one dropout in [0, 1) for all three")
        }
        let epsilon = try number("layer_norm_epsilon", 1e-5)
        guard epsilon > 0 else { throw fail("layer_norm_epsilon", "a positive number") }
        guard try flag("scale_attn_weights", true) else { throw fail("scale_attn_weights", "true") }
        guard try !flag("scale_attn_by_inverse_layer_idx", false) else { throw fail("scale_attn_by_inverse_layer_idx", "false") }
        guard try !flag("add_cross_attention", false) else { throw fail("add_cross_attention", "false") }
        return GPT.Configuration(
            vocabularySize: vocabulary, blockSize: positions, layers: layers, heads: heads, embedding: embedding,
            dropout: dropouts[0], bias: true, tiedEmbedding: try flag("tie_word_embeddings", true), gelu: gelu,
            layerNormEpsilon: epsilon)
    }

    /// The `config.json` of a model of `c`, as `GPT2Config.to_json_string` writes one (keys sorted).
    public static func configJSON(_ c: GPT.Configuration) -> String {
        var config: [String: Any] = [
            "activation_function": c.gelu == .tanh ? "gelu_new" : "gelu", "architectures": ["GPT2LMHeadModel"],
            "attn_pdrop": c.dropout, "embd_pdrop": c.dropout, "resid_pdrop": c.dropout, "initializer_range": 0.02,
            "layer_norm_epsilon": c.layerNormEpsilon, "model_type": "gpt2", "n_embd": c.embedding, "n_head": c.heads,
            "n_inner": NSNull(), "n_layer": c.layers, "n_positions": c.blockSize, "vocab_size": c.vocabularySize,
            "scale_attn_weights": true, "scale_attn_by_inverse_layer_idx": false, "reorder_and_upcast_attn": false,
            "tie_word_embeddings": c.tiedEmbedding, "use_cache": true, "dtype": "float32",
        ]
        if c.vocabularySize == 50257 { (config["bos_token_id"], config["eos_token_id"]) = (50256, 50256) }
        let data = (try? JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    // MARK: - Tensors

    /// The GPT's own state (its names, [out, in] weights) from a `model.safetensors`'s tensors, for a model of `c`.
    /// - Throws: ``Failure`` naming a missing tensor, one of another shape than the configuration's, one this model
    ///   does not have, a dtype other than F32 or BF16, or an untied-looking `lm_head.weight` for a tied model.
    public static func ourState(from tensors: [String: StateDict.TensorData], configuration c: GPT.Configuration,
                                path: String = "model.safetensors") throws(Failure) -> StateDict {
        let expected = shapes(of: c)
        // The Hub's files name the tensors without `transformer.`; save_pretrained's with it.
        let prefixed = tensors.keys.contains { $0.hasPrefix("transformer.") }
        var remaining = tensors
        var state = StateDict()
        for (name, shape) in expected.sorted(by: { $0.key < $1.key }) {
            let stored = prefixed || !name.hasPrefix("transformer.") ? name : String(name.dropFirst("transformer.".count))
            guard let tensor = remaining.removeValue(forKey: stored) else {
                throw Failure("\(path) lacks \(stored), which a GPT-2 of this config.json has (shape \(storedShape(name, shape)))")
            }
            guard tensor.shape == storedShape(name, shape) else {
                throw Failure("\(path): \(stored) has shape \(tensor.shape), config.json makes it \(storedShape(name, shape))")
            }
            let values = try float32(tensor, name: stored, path: path)
            state.tensors[name] = StateDict.TensorData(shape: shape, values: isConv1D(name) ? transpose(values, rows: shape[1], columns: shape[0]) : values)
        }
        for (name, tensor) in remaining.sorted(by: { $0.key < $1.key }) {
            // The causal masks older files keep as buffers ([1, 1, n_positions, n_positions]) are not weights.
            if (name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")) && tensor.shape.count != 1 { continue }
            if name == "lm_head.weight", c.tiedEmbedding, let embedding = state.tensors["transformer.wte.weight"],
               tensor.shape == embedding.shape, try float32(tensor, name: name, path: path) == embedding.values { continue }
            throw Failure("\(path) holds \(name), which a GPT-2 of this config.json does not have"
                          + (name == "lm_head.weight" ? " (tie_word_embeddings is true, and it differs from wte)" : ""))
        }
        return state
    }

    /// The model's tensors as `save_pretrained` writes them: `transformer.`-prefixed, `Conv1D` weights [in, out], no
    /// `lm_head.weight` when tied, and zero biases for a model without them (the same function).
    public static func huggingFaceTensors(of model: GPT) -> [String: StateDict.TensorData] {
        let ours = model.stateDict().tensors
        var tensors: [String: StateDict.TensorData] = [:]
        for (name, tensor) in ours {
            let shape = tensor.shape
            tensors[name] = isConv1D(name)
                ? StateDict.TensorData(shape: [shape[1], shape[0]], values: transpose(tensor.values, rows: shape[0], columns: shape[1]))
                : tensor
        }
        // A model without biases is GPT-2 with zero biases.
        for (name, shape) in shapes(of: withBias(model.configuration)) where tensors[name] == nil {
            guard name != "lm_head.weight" else { continue }
            tensors[name] = StateDict.TensorData(shape: shape, values: FloatBuffer(count: shape.reduce(1, *)))
        }
        return tensors
    }

    /// The names and shapes of a GPT's weights, as its `stateDict()` lists them (without `lm_head.weight` when
    /// tied), computed without building it.
    public static func shapes(of c: GPT.Configuration) -> [String: [Int]] {
        let e = c.embedding
        var shapes = ["transformer.wte.weight": [c.vocabularySize, e], "transformer.wpe.weight": [c.blockSize, e],
                      "transformer.ln_f.weight": [e]]
        if c.bias { shapes["transformer.ln_f.bias"] = [e] }
        if !c.tiedEmbedding { shapes["lm_head.weight"] = [c.vocabularySize, e] }
        for layer in 0..<c.layers {
            let block = "transformer.h.\(layer)."
            let weights: [(String, [Int], Int)] = [
                ("ln_1", [e], e), ("attn.c_attn", [3 * e, e], 3 * e), ("attn.c_proj", [e, e], e), ("ln_2", [e], e),
                ("mlp.c_fc", [4 * e, e], 4 * e), ("mlp.c_proj", [e, 4 * e], e),
            ]
            for (module, shape, outputs) in weights {
                shapes[block + module + ".weight"] = shape
                if c.bias { shapes[block + module + ".bias"] = [outputs] }
            }
        }
        return shapes
    }

    private static func withBias(_ c: GPT.Configuration) -> GPT.Configuration {
        var c = c
        c.bias = true
        return c
    }

    private static func storedShape(_ name: String, _ shape: [Int]) -> [Int] { isConv1D(name) ? [shape[1], shape[0]] : shape }

    private static func float32(_ tensor: StateDict.TensorData, name: String, path: String) throws(Failure) -> FloatBuffer {
        switch tensor.elementType {
        case .float32: return tensor.values
        case .bfloat16:
            let count = tensor.shape.reduce(1, *)
            return tensor.withUnsafeBytes { bytes in
                FloatBuffer(unsafeUninitializedCount: count) { out in
                    for index in 0..<count {
                        let bits = UInt32(bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self).littleEndian)
                        out[index] = Float(bitPattern: bits << 16)
                    }
                }
            }
        default: throw Failure("\(path): \(name) is \(tensor.elementType.rawValue); weights are read as F32 or BF16")
        }
    }

    /// `values`, a row-major [rows, columns] matrix, as [columns, rows].
    static func transpose(_ values: FloatBuffer, rows: Int, columns: Int) -> FloatBuffer {
        FloatBuffer(unsafeUninitializedCount: rows * columns) { out in
            values.withUnsafeBufferPointer { input in
                for row in 0..<rows {
                    for column in 0..<columns { out[column * rows + row] = input[row * columns + column] }
                }
            }
        }
    }

    // MARK: - Directories

    /// The model of a Hugging Face directory (in training mode).
    /// - Throws: ``Failure`` for a missing or unreadable file, and as ``configuration(json:path:)`` and
    ///   ``ourState(from:configuration:path:)``.
    public static func load(directory: String) throws(Failure) -> GPT {
        let (configuration, state) = try read(directory: directory)
        let model = GPT(configuration)
        do {
            try model.load(stateDict: state)
        } catch {
            throw Failure("\(directory)/model.safetensors: \(error)")
        }
        return model
    }

    /// The configuration and weights (the GPT's names and layout) of a Hugging Face directory, without building the
    /// model: what a run that starts from them loads.
    /// - Throws: as ``load(directory:)``.
    public static func read(directory: String) throws(Failure) -> (GPT.Configuration, StateDict) {
        let configPath = directory + "/config.json", weightsPath = directory + "/model.safetensors"
        let configuration = try configuration(json: read(configPath), path: configPath)
        let data = try read(weightsPath, mapped: true)
        let decoded = data.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try SafeTensors.decode(raw) } }
        let tensors: [String: StateDict.TensorData]
        do {
            tensors = try decoded.get().tensors
        } catch {
            throw Failure("\(weightsPath): \(error)")
        }
        return (configuration, try ourState(from: tensors, configuration: configuration, path: weightsPath))
    }

    /// Writes `model` as a Hugging Face directory: `config.json` and `model.safetensors` (each atomically), and the
    /// tokenizer's `vocab.json` and `merges.txt` copied from `tokenizerFrom` when given. The directory is made if
    /// missing; it must not be `tokenizerFrom` itself, whose files would be replaced.
    /// - Throws: ``Failure`` naming the file that could not be written.
    public static func save(_ model: GPT, to directory: String, tokenizerFrom: String? = nil) throws(Failure) {
        if let tokenizerFrom, let source = FileIdentity(path: tokenizerFrom), source == FileIdentity(path: directory) {
            throw Failure("\(directory) is the directory the tokenizer is read from; save to another")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure("cannot make the directory \(directory): \(error.localizedDescription)")
        }
        var files: [(String, [UInt8])] = []
        if let tokenizerFrom {
            for name in ["vocab.json", "merges.txt"] {
                files.append((name, [UInt8](try read(tokenizerFrom + "/" + name))))
            }
        }
        let bytes: [UInt8]
        do {
            bytes = try SafeTensors.encode(huggingFaceTensors(of: model), metadata: ["format": "pt"])
        } catch {
            throw Failure("\(directory)/model.safetensors: \(error)")
        }
        files.append(("model.safetensors", bytes))
        files.append(("config.json", Array(configJSON(model.configuration).utf8)))
        for (name, contents) in files {
            let written = contents.withUnsafeBytes { raw in
                Result { () throws(AtomicFile.Failure) in try AtomicFile.write(raw, to: directory + "/" + name) }
            }
            if case .failure(let error) = written { throw Failure(error.description) }
        }
    }

    private static func read(_ path: String, mapped: Bool = false) throws(Failure) -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw Failure("\(path): no such file") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: mapped ? .alwaysMapped : [])
        } catch {
            throw Failure("\(path) cannot be read: \(error.localizedDescription)")
        }
    }
}
