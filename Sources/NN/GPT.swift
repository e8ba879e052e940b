/// nanoGPT's model (`model.py`): token and position embeddings, `layers` pre-norm Transformer blocks of causal
/// self-attention and a GELU MLP, a final LayerNorm and a language-model head, with nanoGPT's parameter names
/// (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, …, `lm_head.weight` when untied) so that a
/// checkpoint crosses over by name.
///
///     idx (B, T) → wte(idx) + wpe(0..<T) → dropout → h[0…L−1] → ln_f → lm_head → logits (B, T, vocab)
///     block: x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
public final class GPT: Module {
    /// The model's shape, under nanoGPT's names in comments.
    public struct Configuration: Sendable, Equatable, Codable {
        public var vocabularySize: Int        // vocab_size
        public var blockSize: Int             // block_size: the longest context
        public var layers: Int                // n_layer
        public var heads: Int                 // n_head
        public var embedding: Int             // n_embd
        public var dropout: Double            // dropout
        public var bias: Bool                 // bias: in Linears and LayerNorms
        public var tiedEmbedding: Bool        // wte.weight is lm_head.weight
        public var gelu: GELUApproximation
        /// The LayerNorms' eps (Hugging Face's layer_norm_epsilon; nanoGPT's is PyTorch's default, 1e-5).
        public var layerNormEpsilon: Double

        /// nanoGPT's Tiny Shakespeare CPU recipe: 4 layers, 4 heads, 128 wide, context 64, no bias, no dropout.
        public init(
            vocabularySize: Int, blockSize: Int = 64, layers: Int = 4, heads: Int = 4, embedding: Int = 128,
            dropout: Double = 0, bias: Bool = false, tiedEmbedding: Bool = true, gelu: GELUApproximation = .none,
            layerNormEpsilon: Double = 1e-5
        ) {
            self.vocabularySize = vocabularySize
            self.blockSize = blockSize
            self.layers = layers
            self.heads = heads
            self.embedding = embedding
            self.dropout = dropout
            self.bias = bias
            self.tiedEmbedding = tiedEmbedding
            self.gelu = gelu
            self.layerNormEpsilon = layerNormEpsilon
        }
    }

    /// nanoGPT's `transformer` ModuleDict.
    public final class Body: Module {
        public let wte: Embedding
        public let wpe: Embedding
        public let drop: Dropout
        public let h: [any Module]
        public let ln_f: LayerNorm

        init(_ c: Configuration) {
            wte = Embedding(c.vocabularySize, c.embedding)
            wpe = Embedding(c.blockSize, c.embedding)
            drop = Dropout(p: c.dropout)
            h = (0..<c.layers).map { _ in Block(c) }
            ln_f = LayerNorm(c.embedding, eps: c.layerNormEpsilon, bias: c.bias)
        }

        public func forward(_ input: Tensor) throws(TensorError) -> Tensor { input }
    }

    /// One pre-norm block.
    public final class Block: Module {
        public let ln_1: LayerNorm
        public let attn: CausalSelfAttention
        public let ln_2: LayerNorm
        public let mlp: MLP

        init(_ c: Configuration) {
            ln_1 = LayerNorm(c.embedding, eps: c.layerNormEpsilon, bias: c.bias)
            attn = CausalSelfAttention(c)
            ln_2 = LayerNorm(c.embedding, eps: c.layerNormEpsilon, bias: c.bias)
            mlp = MLP(c)
        }

        /// x is (B, T, C).
        public func forward(_ x: Tensor) throws(TensorError) -> Tensor {
            let x = try x + attn(ln_1(x))
            return try x + mlp(ln_2(x))
        }
    }

    /// Multi-head causal self-attention: c_attn (C → 3C), the fused attention (with dropout on its weights),
    /// c_proj (C → C), dropout.
    public final class CausalSelfAttention: Module {
        public let c_attn: Linear
        public let c_proj: Linear
        /// Dropout on the attention weights, applied inside the fused attention; a module of its own so that
        /// ``Module/train()`` and ``Module/eval()`` switch it like the others.
        public let attn_dropout: Dropout
        public let resid_dropout: Dropout
        let heads: Int

        init(_ c: Configuration) {
            c_attn = Linear(c.embedding, 3 * c.embedding, bias: c.bias)
            c_proj = Linear(c.embedding, c.embedding, bias: c.bias)
            attn_dropout = Dropout(p: c.dropout)
            resid_dropout = Dropout(p: c.dropout)
            heads = c.heads
        }

        /// x is (B, T, C).
        public func forward(_ x: Tensor) throws(TensorError) -> Tensor {
            let p = attn_dropout.isTraining ? attn_dropout.p : 0
            return try resid_dropout(c_proj(c_attn(x).causalSelfAttention(heads: heads, dropout: p)))
        }
    }

    /// c_fc (C → 4C), GELU, c_proj (4C → C), dropout.
    public final class MLP: Module {
        public let c_fc: Linear
        public let c_proj: Linear
        public let dropout: Dropout
        let approximation: GELUApproximation

        init(_ c: Configuration) {
            c_fc = Linear(c.embedding, 4 * c.embedding, bias: c.bias)
            c_proj = Linear(4 * c.embedding, c.embedding, bias: c.bias)
            dropout = Dropout(p: c.dropout)
            approximation = c.gelu
        }

        public func forward(_ x: Tensor) throws(TensorError) -> Tensor {
            try dropout(c_proj(c_fc(x).gelu(approximate: approximation)))
        }
    }

    public let configuration: Configuration
    public let transformer: Body
    /// The language-model head when untied; with a tied embedding the head is `transformer.wte.weight`.
    public let lm_head: Linear?

    /// A model of `configuration`, initialized as nanoGPT: weights normal(0, 0.02), residual projections
    /// (`c_proj`) normal(0, 0.02/√(2·layers)), biases 0, LayerNorms 1 and 0; drawn from ``Autograd/GlobalRandom``.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        transformer = Body(configuration)
        lm_head = configuration.tiedEmbedding ? nil : Linear(configuration.embedding, configuration.vocabularySize, bias: false)
        let residualStd = 0.02 / Double(2 * configuration.layers).squareRoot()
        GlobalRandom.with { random in
            for (name, parameter) in namedParameters() where !name.contains("ln_") {
                if name.hasSuffix(".bias") {
                    parameter.values.fill(with: 0)
                } else {
                    let std = Float(name.hasSuffix("c_proj.weight") ? residualStd : 0.02)
                    parameter.values.withUnsafeMutableBufferPointer { values in
                        for i in values.indices { values[i] = random.normal() * std }
                    }
                }
            }
        }
    }

    /// Logits (B, T, vocab) for `tokens`, B rows of T ids (T at most the block size).
    public func logits(_ tokens: [[Int]]) throws(TensorError) -> Tensor {
        let batch = tokens.count, time = tokens.first?.count ?? 0
        guard batch > 0, time > 0, time <= configuration.blockSize, tokens.allSatisfy({ $0.count == time }) else {
            throw .invalidArgument(operation: "GPT", name: "context length (1…block size, the same for every row)",
                                   value: Double(time))
        }
        let tokenEmbedding = try transformer.wte(indices: tokens.flatMap { $0 }, shape: [batch, time])
        let positions = try transformer.wpe(indices: Array(0..<time), shape: [time])
        var x = try transformer.drop(tokenEmbedding + positions)
        for block in transformer.h { x = try block(x) }
        x = try transformer.ln_f(x)
        if let lm_head { return try lm_head(x) }
        return try x.linear(weight: Tensor(transformer.wte.weight), bias: nil)
    }

    /// The mean cross-entropy of the next-token predictions over every batch·time position.
    public func loss(_ tokens: [[Int]], targets: [[Int]]) throws(TensorError) -> Tensor {
        let logits = try self.logits(tokens)
        return try crossEntropy(logits.reshaped([logits.count / configuration.vocabularySize, configuration.vocabularySize]),
                                targets.flatMap { $0 })
    }

    /// A module's `forward` is tensor → tensor; a GPT reads token ids: use ``logits(_:)`` or ``loss(_:targets:)``.
    public func forward(_ input: Tensor) throws(TensorError) -> Tensor {
        let rows = try input.array.map { (value: Float) throws(TensorError) -> Int in
            guard let token = Int(exactly: value) else {
                throw .invalidArgument(operation: "GPT", name: "token", value: Double(value))
            }
            return token
        }
        let time = input.shape.last ?? rows.count
        return try logits(stride(from: 0, to: rows.count, by: max(time, 1)).map { Array(rows[$0..<min($0 + time, rows.count)]) })
    }
}
