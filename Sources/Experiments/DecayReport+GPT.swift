import Foundation
import NN
import Optim
import Training

extension DecayReport {
    /// The kinds of GPT parameter the report groups by, in the order it prints them.
    public static let gptKinds = ["embedding", "attention", "mlp", "layernorm", "bias"]

    /// The decay report on the GPT: `recipe` trained as Adam with L2 and as AdamW (same λ, lr, seed and batches),
    /// and at every evaluation the shrink per step of every decayed weight, grouped by kind of parameter
    /// (``GPTExperiment/kind(of:)``: embeddings, attention, MLP, and with `decayAll` the LayerNorm weights and
    /// biases) and cut into deciles of √v̂. A row's `epoch` is the iteration. `finished` is called with each run's
    /// name when it ends.
    public static func runGPT(
        recipe: GPTRecipe, iterations: Int, evalInterval: Int, data: GPTExperiment.Data, runner: ParallelRuns,
        finished: (@Sendable (String) -> Void)? = nil
    ) throws -> (rows: [Row], results: [String: GPTExperiment.Result]) {
        let variants: [(String, OptimizerKind)] = [("Adam+L2", .adam), ("AdamW", .adamw)]
        let outcomes = try runner.map(variants.count) { index in
            let (name, kind) = variants[index]
            var variant = recipe
            variant.optimizer = kind
            var rows: [Row] = []
            let result = try GPTExperiment.train(variant, iterations: iterations, evalInterval: evalInterval, on: data) { run in
                var byKind: [String: [WeightShrink]] = [:]
                for parameter in run.parameters {
                    // Only weights that are decayed: with λ = 0 (biases and norms, unless decayAll) nothing shrinks.
                    guard let weights = shrink(of: parameter, inAny: run.optimizer),
                          weights.contains(where: { $0.shrink > 0 }) else { continue }
                    byKind[GPTExperiment.kind(of: parameter.name), default: []] += weights
                }
                for kind in gptKinds {
                    guard let weights = byKind[kind] else { continue }
                    rows += deciles(weights).map { Row(optimizer: name, epoch: run.iteration, parameter: kind, decile: $0) }
                }
            }
            finished?(name)
            return (rows, result)
        }
        var results: [String: GPTExperiment.Result] = [:]
        for (variant, outcome) in zip(variants, outcomes) { results[variant.0] = outcome.1 }
        return (outcomes.flatMap(\.0), results)
    }
}
