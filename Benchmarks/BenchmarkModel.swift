/// A model's parameter list, as ``OptimizerBenchmark`` times one optimizer step over it: named shapes, in the order
/// the model lists its parameters.
public enum BenchmarkModel: String, CaseIterable, Sendable {
    /// GPT-2 small (124M) with nanoGPT's names: 148 tensors, 124,439,808 parameters; `wte` is tied to the output
    /// layer and listed once.
    case gpt2Small = "gpt2-small"
    /// 10,000 tensors of 1,000 elements: the per-tensor cost of a step, which a model's biases and norms pay.
    case manySmall = "many-small"

    /// One parameter tensor: its name and its shape.
    public struct Tensor: Sendable {
        public let name: String
        public let shape: [Int]

        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }
    }

    /// The model's parameter tensors, in order.
    public var tensors: [Tensor] {
        switch self {
        case .gpt2Small: Self.gpt2(vocabulary: 50257, context: 1024, width: 768, layers: 12)
        case .manySmall: (0..<10_000).map { Tensor(name: "p\($0)", shape: [1000]) }
        }
    }

    /// The number of parameters over all tensors.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// nanoGPT's `GPT` parameters, as `named_parameters()` lists them; linear weights are [out, in].
    private static func gpt2(vocabulary: Int, context: Int, width c: Int, layers: Int) -> [Tensor] {
        var tensors = [Tensor(name: "transformer.wte.weight", shape: [vocabulary, c]),
                       Tensor(name: "transformer.wpe.weight", shape: [context, c])]
        for layer in 0..<layers {
            let block: [(String, [Int])] = [
                ("ln_1.weight", [c]), ("ln_1.bias", [c]),
                ("attn.c_attn.weight", [3 * c, c]), ("attn.c_attn.bias", [3 * c]),
                ("attn.c_proj.weight", [c, c]), ("attn.c_proj.bias", [c]),
                ("ln_2.weight", [c]), ("ln_2.bias", [c]),
                ("mlp.c_fc.weight", [4 * c, c]), ("mlp.c_fc.bias", [4 * c]),
                ("mlp.c_proj.weight", [c, 4 * c]), ("mlp.c_proj.bias", [c]),
            ]
            tensors += block.map { Tensor(name: "transformer.h.\(layer).\($0.0)", shape: $0.1) }
        }
        return tensors + [Tensor(name: "transformer.ln_f.weight", shape: [c]),
                          Tensor(name: "transformer.ln_f.bias", shape: [c])]
    }
}
