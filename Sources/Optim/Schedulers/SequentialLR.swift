/// Runs schedulers one after another, switching at the milestone steps, as
/// `torch.optim.lr_scheduler.SequentialLR`: at each milestone the next scheduler restarts from its step 0 (in
/// closed form where it has one), so a warm-up can hand over to a decay:
///
/// ```swift
/// let warmup = try LinearLR(optimizer, startFactor: 0.01, totalIters: 500)
/// let decay = try CosineAnnealingLR(optimizer, tMax: 9_500)
/// let schedule = try SequentialLR(optimizer, schedulers: [warmup, decay], milestones: [500])
/// ```
public final class SequentialLR: LRScheduler {
    public let schedulers: [LRScheduler]
    public let milestones: [Int]

    public init(_ optimizer: any Optimizer, schedulers: [LRScheduler], milestones: [Int]) throws(SchedulerError) {
        guard !schedulers.isEmpty else {
            throw .countMismatch(scheduler: "SequentialLR", name: "schedulers", expected: 1, actual: 0)
        }
        guard milestones.count == schedulers.count - 1 else {
            throw .countMismatch(scheduler: "SequentialLR", name: "milestones (one fewer than schedulers)", expected: schedulers.count - 1,
                                 actual: milestones.count)
        }
        if let index = schedulers.firstIndex(where: { $0.optimizer !== optimizer }) {
            throw .differentOptimizer(scheduler: "SequentialLR", index: index)
        }
        // Checked before anything changes: stepping a plateau schedule needs a metric this one does not have.
        if let plateau = schedulers.first(where: { $0 is ReduceLROnPlateau }) {
            throw .metricRequired(scheduler: plateau.name)
        }
        self.schedulers = schedulers
        self.milestones = milestones
        super.init(deferringStartOf: optimizer)
        lastEpoch = 0
        // Undo the steps the schedulers took when they were made, and start the first one again.
        for index in optimizer.groupSchedules.indices {
            optimizer.groupSchedules[index].lr = optimizer.groupSchedules[index].initialLR
        }
        for scheduler in schedulers { scheduler.lastEpoch -= 1 }
        try schedulers[0].initialStep()
        lastLRs = schedulers[0].lastLRs
    }

    override func update(epoch: Int?) throws(SchedulerError) {
        lastEpoch += 1
        let index = milestones.filter { $0 <= lastEpoch }.count
        let scheduler = schedulers[index]
        if index > 0 && milestones[index - 1] == lastEpoch {
            try scheduler.update(epoch: 0)
        } else {
            try scheduler.step()
        }
        lastLRs = scheduler.lastLRs
    }

    public override func stateDict() -> [String: Double] {
        var state = super.stateDict()
        for (index, scheduler) in schedulers.enumerated() {
            for (key, value) in scheduler.stateDict() { state["\(index).\(key)"] = value }
        }
        return state
    }

    public override func load(stateDict state: [String: Double]) throws(SchedulerError) {
        try super.load(stateDict: state)
        for (index, scheduler) in schedulers.enumerated() {
            let prefix = "\(index)."
            var own: [String: Double] = [:]
            for (key, value) in state where key.hasPrefix(prefix) { own[String(key.dropFirst(prefix.count))] = value }
            try scheduler.load(stateDict: own)
        }
    }
}
