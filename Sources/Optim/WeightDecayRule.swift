/// Which parameters get weight decay: the standard Transformer recipe splits them into a decayed and a
/// non-decayed parameter group.
///
/// ```swift
/// let groups = WeightDecayRule.biasesAndNorms.groups(model.parameters())
/// let optimizer = try AdamW(groups, lr: 3e-4, weightDecay: 0.1)     // biases and norm weights: no decay
/// ```
public struct WeightDecayRule: Sendable {
    /// Whether the parameter with this name and shape is excluded from weight decay.
    public var excludes: @Sendable (_ name: String, _ shape: [Int]) -> Bool

    /// A rule from a predicate on a parameter's name and shape that says which parameters get no decay.
    public init(excluding excludes: @escaping @Sendable (_ name: String, _ shape: [Int]) -> Bool) {
        self.excludes = excludes
    }

    /// Excludes every parameter with fewer than 2 dimensions: biases, LayerNorm/BatchNorm scales and shifts.
    public static let biasesAndNorms = WeightDecayRule { _, shape in shape.count < 2 }

    /// The parameters in two groups, decayed first, each in its original order; a group that would be empty is
    /// left out. The decayed group takes `weightDecay` if given, else the optimizer's default; the other has
    /// `weightDecay: 0`.
    public func groups<Options: OptimizerOptions>(
        _ params: [Parameter], weightDecay: Double? = nil
    ) -> [ParamGroup<Options>] {
        let excluded = params.filter { excludes($0.name, $0.shape) }
        let decayed = params.filter { !excludes($0.name, $0.shape) }
        var groups: [ParamGroup<Options>] = []
        if !decayed.isEmpty { groups.append(ParamGroup(params: decayed, weightDecay: weightDecay)) }
        if !excluded.isEmpty { groups.append(ParamGroup(params: excluded, weightDecay: 0)) }
        return groups
    }
}
