/// Lowers the learning rate when a watched metric stops improving, as
/// `torch.optim.lr_scheduler.ReduceLROnPlateau`: after more than `patience` steps without an improvement of more
/// than `threshold` (relative or absolute), each group's rate is multiplied by `factor` (not below its `minLR`,
/// and not when the change would be under `eps`), then `cooldown` steps pass before counting again.
///
/// A NaN metric is never an improvement.
public final class ReduceLROnPlateau {
    public enum Mode: String, Sendable, CaseIterable { case min, max }
    public enum ThresholdMode: String, Sendable, CaseIterable { case relative = "rel", absolute = "abs" }

    public let optimizer: Optimizer
    public let mode: Mode
    public let factor: Double
    public let patience: Int
    public let threshold: Double
    public let thresholdMode: ThresholdMode
    public let cooldown: Int
    public let minLRs: [Double]
    public let eps: Double
    /// The best metric so far (±infinity before the first step).
    public private(set) var best: Double
    public private(set) var badEpochs = 0
    public private(set) var cooldownCounter = 0
    public private(set) var lastEpoch = 0

    /// `minLR` applies to every group.
    public convenience init(
        _ optimizer: Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
        thresholdMode: ThresholdMode = .relative, cooldown: Int = 0, minLR: Double = 0, eps: Double = 1e-8
    ) throws(SchedulerError) {
        try self.init(optimizer, mode: mode, factor: factor, patience: patience, threshold: threshold,
                      thresholdMode: thresholdMode, cooldown: cooldown,
                      minLRs: Array(repeating: minLR, count: optimizer.paramGroups.count), eps: eps)
    }

    /// One minimum rate per group.
    public init(
        _ optimizer: Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
        thresholdMode: ThresholdMode = .relative, cooldown: Int = 0, minLRs: [Double], eps: Double = 1e-8
    ) throws(SchedulerError) {
        let name = "ReduceLROnPlateau"
        try LRScheduler.require(factor, "factor", of: name) { $0 >= 0 && $0 < 1 }
        try LRScheduler.require(threshold, "threshold", of: name) { $0 >= 0 }
        try LRScheduler.require(eps, "eps", of: name) { $0 >= 0 }
        guard patience >= 0 else { throw .invalidArgument(scheduler: name, name: "patience", value: Double(patience)) }
        guard cooldown >= 0 else { throw .invalidArgument(scheduler: name, name: "cooldown", value: Double(cooldown)) }
        guard minLRs.count == optimizer.paramGroups.count else {
            throw .countMismatch(scheduler: name, name: "minimum learning rates (one per parameter group)", expected: optimizer.paramGroups.count,
                                 actual: minLRs.count)
        }
        for minLR in minLRs { try LRScheduler.require(minLR, "min lr", of: name) { $0 >= 0 } }
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minLRs = minLRs
        self.eps = eps
        best = mode == .min ? .infinity : -.infinity
    }

    /// Records the metric of one epoch and lowers the rates if it has not improved for long enough.
    public func step(metric: Double) {
        lastEpoch += 1
        if isBetter(metric) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEpochs = 0
        }
        if badEpochs > patience {
            for (index, minLR) in zip(optimizer.paramGroups.indices, minLRs) {
                let old = optimizer.paramGroups[index].lr
                let new = Swift.max(old * factor, minLR)
                if old - new > eps { optimizer.paramGroups[index].lr = new }
            }
            cooldownCounter = cooldown
            badEpochs = 0
        }
    }

    /// Comparisons with NaN are false, so a NaN metric never counts as better.
    private func isBetter(_ value: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .relative): return value < best * (1 - threshold)
        case (.min, .absolute): return value < best - threshold
        case (.max, .relative): return value > best * (threshold + 1)
        case (.max, .absolute): return value > best + threshold
        }
    }

    public func stateDict() -> [String: Double] {
        ["best": best, "num_bad_epochs": Double(badEpochs), "cooldown_counter": Double(cooldownCounter),
         "last_epoch": Double(lastEpoch)]
    }

    public func load(stateDict state: [String: Double]) throws(SchedulerError) {
        guard let best = state["best"], let bad = state["num_bad_epochs"].flatMap(Int.init(exactly:)),
              let cooldown = state["cooldown_counter"].flatMap(Int.init(exactly:)),
              let epoch = state["last_epoch"].flatMap(Int.init(exactly:)) else {
            throw .invalidState(scheduler: "ReduceLROnPlateau", reason: "missing or non-integral counters")
        }
        self.best = best
        badEpochs = bad
        cooldownCounter = cooldown
        lastEpoch = epoch
    }
}
