/// What an ``UpdateRule`` keeps for each parameter group besides its options, advanced once a step
/// (``UpdateRule/advance(_:options:)``): Schedule-Free's `k`, `lr_max` and `weight_sum`, which PyTorch keeps in
/// the group's dictionary. A state dict saves them with the group, as text that reads back to the same bits.
public protocol GroupCounters: Sendable, Equatable {
    /// The values before a group's first step.
    init()
    /// Every value by PyTorch's name for it (`k`, `lr_max`), as text that reads back to the same bits.
    var textByName: [String: String] { get }
    /// The values ``textByName`` wrote; nil when a name is missing, unknown or its text unreadable.
    init?(textByName: [String: String])
}

/// The counters of a rule that keeps none: every optimizer but Schedule-Free.
public struct NoGroupCounters: GroupCounters {
    public init() {}
    public var textByName: [String: String] { [:] }
    public init?(textByName: [String: String]) {
        guard textByName.isEmpty else { return nil }
    }
}

/// Which value the parameters of an optimizer with modes hold (see ``UpdateRule/hasModes``): in train mode the
/// point where gradients are taken, in eval mode the one to evaluate (Schedule-Free's y and x), as PyTorch's
/// `optimizer.train()` and `optimizer.eval()` switch them.
public enum OptimizerMode: String, Sendable, Codable {
    case train, eval
}
