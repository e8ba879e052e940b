import Autograd
import Foundation

extension GPT {
    /// nanoGPT's `generate`: `count` tokens after `prompt`, each drawn from the softmax of the last position's
    /// logits divided by `temperature`, keeping only the `topK` largest (every logit tied with the k-th largest
    /// stays, as nanoGPT's `logits < v[-1]` mask), with the context cropped to the last ``Configuration/blockSize``
    /// tokens. Returns the prompt followed by the new tokens. Call ``Module/eval()`` first, as nanoGPT's
    /// `sample.py` does (dropout off); no gradients are recorded.
    ///
    /// A draw is one uniform number from `random` (53 bits) against the cumulative probabilities in token order,
    /// so the same generator state gives the same text on every platform.
    /// - Throws: ``Autograd/TensorError/invalidArgument(operation:name:value:)`` for an empty prompt, a token
    ///   outside the vocabulary, a temperature that is not a positive finite number, a `topK` below 1, a
    ///   negative `count`, or logits that are not finite (weights that are not).
    public func generate(
        from prompt: [Int], count: Int, temperature: Double = 1, topK: Int? = nil,
        using random: inout RandomGenerator
    ) throws(TensorError) -> [Int] {
        let vocabulary = configuration.vocabularySize
        func refuse(_ name: String, _ value: Double) -> TensorError {
            .invalidArgument(operation: "GPT.generate", name: name, value: value)
        }
        guard !prompt.isEmpty else { throw refuse("prompt length", 0) }
        if let bad = prompt.first(where: { !(0..<vocabulary).contains($0) }) { throw refuse("prompt token", Double(bad)) }
        guard temperature.isFinite, temperature > 0 else { throw refuse("temperature", temperature) }
        if let topK, topK < 1 { throw refuse("top-k", Double(topK)) }
        guard count >= 0 else { throw refuse("count", Double(count)) }

        var tokens = prompt
        tokens.reserveCapacity(prompt.count + count)
        try withNoGrad { () throws(TensorError) in
            for _ in 0..<count {
                let window = Array(tokens.suffix(configuration.blockSize))
                let raw = try self.logits([window]).array.suffix(vocabulary)
                if let bad = raw.first(where: { !$0.isFinite }) { throw refuse("logit (the weights are not finite)", Double(bad)) }
                var logits = raw.map { Double($0) / temperature }
                if logits.contains(where: { !$0.isFinite }) {
                    // A temperature so small that a logit overflows: the largest is subtracted first, which sends
                    // the others to -∞ (weight 0) rather than every weight to NaN.
                    let top = Double(raw.max() ?? 0)
                    logits = raw.map { (Double($0) - top) / temperature }
                }
                var floor = -Double.infinity
                if let topK, topK < vocabulary { floor = logits.sorted(by: >)[topK - 1] }
                let largest = logits.max() ?? 0
                let weights = logits.map { $0 >= floor ? exp($0 - largest) : 0 }
                var draw = Double(random.next() >> 11) * 0x1p-53 * weights.reduce(0, +)
                var choice = weights.lastIndex { $0 > 0 } ?? 0
                for (token, weight) in weights.enumerated() where weight > 0 {
                    draw -= weight
                    if draw < 0 { choice = token; break }
                }
                tokens.append(choice)
            }
        }
        return tokens
    }
}
