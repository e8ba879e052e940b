/// Lowers the learning rate when a watched metric stops improving, as
/// `torch.optim.lr_scheduler.ReduceLROnPlateau`: after more than `patience` steps without an improvement of more
/// than `threshold` (relative or absolute), each group's rate is multiplied by `factor` (not below its `minLR`,
/// and not when the change would be under `eps`), then `cooldown` steps pass before counting again.
///
/// A NaN metric is never an improvement. It is an ``LRScheduler`` (as in PyTorch ≥ 2.2) that steps on a metric:
/// call ``step(metric:)``; the plain ``step()`` throws ``SchedulerError/metricRequired(scheduler:)``. Unlike the
/// other schedulers it leaves the rates as they are when made and claims no group's ``ParamGroup/initialLR``.
public final class ReduceLROnPlateau: LRScheduler {
    public enum Mode: String, Sendable, CaseIterable { case min, max }
    public enum ThresholdMode: String, Sendable, CaseIterable { case relative = "rel", absolute = "abs" }

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

    /// `minLR` applies to every group.
    public convenience init(
        _ optimizer: any Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
        thresholdMode: ThresholdMode = .relative, cooldown: Int = 0, minLR: Double = 0, eps: Double = 1e-8
    ) throws(SchedulerError) {
        try self.init(optimizer, mode: mode, factor: factor, patience: patience, threshold: threshold,
                      thresholdMode: thresholdMode, cooldown: cooldown,
                      minLRs: Array(repeating: minLR, count: optimizer.groupSchedules.count), eps: eps)
    }

    /// One minimum rate per group.
    public init(
        _ optimizer: any Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
        thresholdMode: ThresholdMode = .relative, cooldown: Int = 0, minLRs: [Double], eps: Double = 1e-8
    ) throws(SchedulerError) {
        let name = "ReduceLROnPlateau"
        try LRScheduler.require(factor, "factor", of: name) { $0 >= 0 && $0 < 1 }
        try LRScheduler.require(threshold, "threshold", of: name) { $0 >= 0 }
        try LRScheduler.require(eps, "eps", of: name) { $0 >= 0 }
        guard patience >= 0 else { throw .invalidArgument(scheduler: name, name: "patience", value: Double(patience)) }
        guard cooldown >= 0 else { throw .invalidArgument(scheduler: name, name: "cooldown", value: Double(cooldown)) }
        guard minLRs.count == optimizer.groupSchedules.count else {
            throw .countMismatch(scheduler: name, name: "minimum learning rates (one per parameter group)", expected: optimizer.groupSchedules.count,
                                 actual: minLRs.count)
        }
        for minLR in minLRs { try LRScheduler.require(minLR, "min lr", of: name) { $0 >= 0 } }
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minLRs = minLRs
        self.eps = eps
        best = mode == .min ? .infinity : -.infinity
        super.init(deferringStartOf: optimizer)
        baseLRs = currentLRs
        lastEpoch = 0
        lastLRs = currentLRs
    }

    /// Refuses: this schedule steps on a metric, with ``step(metric:)``.
    public override func step() throws(SchedulerError) { throw .metricRequired(scheduler: name) }

    public override var stepsOnMetric: Bool { true }

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
            for (index, minLR) in zip(optimizer.groupSchedules.indices, minLRs) {
                let old = optimizer.groupSchedules[index].lr
                let new = Swift.max(old * factor, minLR)
                if old - new > eps { optimizer.groupSchedules[index].lr = new }
            }
            cooldownCounter = cooldown
            badEpochs = 0
        }
        lastLRs = currentLRs
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

    /// The counters, the best metric and the last rates (`last_lr.<group>`).
    public override func stateDict() -> [String: Double] {
        var state = ["best": best, "num_bad_epochs": Double(badEpochs), "cooldown_counter": Double(cooldownCounter),
                     "last_epoch": Double(lastEpoch)]
        for (index, rate) in lastLRs.enumerated() { state["last_lr.\(index)"] = rate }
        return state
    }

    /// Restores the state from ``stateDict()``; a state without `last_lr` entries (saved before they were kept)
    /// takes the groups' current rates as the last ones.
    public override func load(stateDict state: [String: Double]) throws(SchedulerError) {
        guard let best = state["best"], let bad = state["num_bad_epochs"].flatMap(Int.init(exactly:)),
              let cooldown = state["cooldown_counter"].flatMap(Int.init(exactly:)),
              let epoch = state["last_epoch"].flatMap(Int.init(exactly:)) else {
            throw .invalidState(scheduler: "ReduceLROnPlateau", reason: "missing or non-integral counters")
        }
        self.best = best
        badEpochs = bad
        cooldownCounter = cooldown
        lastEpoch = epoch
        let current = currentLRs
        lastLRs = current.indices.map { state["last_lr.\($0)"] ?? current[$0] }
    }
}
