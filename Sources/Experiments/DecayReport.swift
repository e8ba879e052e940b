import Foundation
import Optim
import Training

/// How much weight decay each weight actually receives per step, under Adam's coupled L2 and under AdamW.
///
/// Adam with L2 adds λθ to the gradient. That term goes through the first moment (whose bias-corrected value is
/// λθ while θ changes slowly) and is then divided, like the gradient, by √v̂ + ε. So the decay shrinks θ per step by
///
///     Adam + L2:  lr · λ / (√v̂ + ε)          — large where the gradient history √v̂ is small, small where it is large
///     AdamW:      lr · λ                      — the same for every weight (1 − decayFactor of the kernel)
///
/// where v̂ = v / (1 − β2ᵗ) is the bias-corrected second moment (its running maximum with amsgrad). The report sorts
/// the weights of each parameter by √v̂, cuts them into ten equal groups (deciles, smallest √v̂ first) and gives
/// each group's median √v̂ and median shrink.
public enum DecayReport {
    /// One weight: its gradient magnitude √v̂ and the fraction of it the decay term removes per step.
    public struct WeightShrink: Equatable, Sendable {
        public let gradientMagnitude: Double
        public let shrink: Double

        public init(gradientMagnitude: Double, shrink: Double) {
            self.gradientMagnitude = gradientMagnitude
            self.shrink = shrink
        }
    }

    /// One decile of one parameter's weights.
    public struct Decile: Equatable, Sendable {
        /// 1 (smallest √v̂) to 10 (largest).
        public let index: Int
        public let weights: Int
        public let minimumMagnitude: Double, medianMagnitude: Double, maximumMagnitude: Double
        public let medianShrink: Double, meanShrink: Double
    }

    /// One row of the report: a decile of a group (a parameter, or a kind of parameter) after an evaluation of one
    /// run.
    public struct Row: Sendable {
        /// "Adam+L2" or "AdamW".
        public let optimizer: String
        public let epoch: Int
        public let parameter: String
        public let decile: Decile
    }

    /// The shrink per step that `optimizer`'s weight decay applies to each element of `parameter`, from the
    /// optimizer's current state and options; nil when the parameter has not been stepped or is not the
    /// optimizer's.
    public static func shrink<Rule: UpdateRule>(
        of parameter: Parameter, in optimizer: RuleOptimizer<Rule>
    ) -> [WeightShrink]? where Rule.Options == AdamOptions {
        guard let group = optimizer.paramGroups.first(where: { $0.params.contains { $0 === parameter } }),
              let state = optimizer.state(for: parameter), state.step > 0,
              let secondMoment = group.amsgrad ? state[.maxExpAvgSq] : state[.expAvgSq]
        else { return nil }
        let biasCorrection = 1 - pow(group.betas.1, Double(state.step))
        let lambda = group.weightDecay
        let decoupled = group.decayConvention.decayRate(lr: group.lr, initialLR: group.initialLR, weightDecay: lambda)
        return secondMoment.map { v in
            let magnitude = (Double(v) / biasCorrection).squareRoot()
            let shrink = group.decoupledWeightDecay ? decoupled : group.lr * lambda / (magnitude + group.eps)
            return WeightShrink(gradientMagnitude: magnitude, shrink: shrink)
        }
    }

    /// ``shrink(of:in:)`` for Adam or AdamW behind `any Optimizer`; nil for another optimizer too.
    static func shrink(of parameter: Parameter, inAny optimizer: any Optimizer) -> [WeightShrink]? {
        if let adam = optimizer as? Adam { return shrink(of: parameter, in: adam) }
        if let adamw = optimizer as? AdamW { return shrink(of: parameter, in: adamw) }
        return nil
    }

    /// The weights cut into ten groups of (nearly) equal size by gradient magnitude, smallest first; with fewer
    /// than ten weights some deciles are empty and left out.
    public static func deciles(_ weights: [WeightShrink]) -> [Decile] {
        let sorted = weights.sorted { $0.gradientMagnitude < $1.gradientMagnitude }
        return (0..<10).compactMap { k in
            let slice = sorted[(k * sorted.count / 10)..<((k + 1) * sorted.count / 10)]
            guard let first = slice.first, let last = slice.last else { return nil }
            let shrinks = slice.map(\.shrink).sorted()
            return Decile(
                index: k + 1, weights: slice.count, minimumMagnitude: first.gradientMagnitude,
                medianMagnitude: median(slice.map(\.gradientMagnitude)), maximumMagnitude: last.gradientMagnitude,
                medianShrink: median(shrinks), meanShrink: shrinks.reduce(0, +) / Double(shrinks.count))
        }
    }

    /// The median of `values` that are already sorted (the mean of the middle two for an even count).
    static func median(_ sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Trains `settings` on `task` twice — as Adam with L2 and as AdamW, same λ, seed and everything else — and
    /// after each of their evaluations cuts the weights of each of the task's groups (``ExperimentTask/decayGroups(of:)``:
    /// MNIST's parameters, the GPT's kinds of parameter) into deciles. The two runs train at once on `runner`'s jobs.
    /// A row's `epoch` is the step of the evaluation (the GPT's iteration).
    public static func run<Task: ExperimentTask>(
        _ task: Task, settings: Task.Settings, runner: ParallelRuns
    ) throws -> (rows: [Row], records: [String: RunRecord]) {
        let variants: [(String, OptimizerKind)] = [("Adam+L2", .adam), ("AdamW", .adamw)]
        let outcomes = try runner.map(variants.count) { index in
            let (name, kind) = variants[index]
            var rows: [Row] = []
            let record = try task.train(task.settings(settings, with: .optimizer(kind)), name: name, selecting: false) {
                step, optimizer, parameters in
                guard optimizer is Adam || optimizer is AdamW else { throw ExperimentError.notAdam(name) }
                for group in task.decayGroups(of: parameters) {
                    var weights: [WeightShrink]?
                    for parameter in group.parameters {
                        guard let own = shrink(of: parameter, inAny: optimizer),
                              !task.decayedWeightsOnly || own.contains(where: { $0.shrink > 0 }) else { continue }
                        weights = (weights ?? []) + own
                    }
                    guard let weights else { continue }
                    rows += deciles(weights).map { Row(optimizer: name, epoch: step, parameter: group.name, decile: $0) }
                }
            }
            return (rows, record)
        }
        var records: [String: RunRecord] = [:]
        for (variant, outcome) in zip(variants, outcomes) { records[variant.0] = outcome.1 }
        return (outcomes.flatMap(\.0), records)
    }
}
