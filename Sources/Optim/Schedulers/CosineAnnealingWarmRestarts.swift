import Foundation

/// Cosine annealing that restarts at the base rate every cycle, the first `t0` steps long and each next one
/// `tMult` times longer (SGDR), as `torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`.
public final class CosineAnnealingWarmRestarts: LRScheduler {
    public let t0: Int
    public let tMult: Int
    public let etaMin: Double
    /// Steps since the last restart, and the length of the current cycle.
    public private(set) var tCur = 0
    public private(set) var tI: Int

    public init(_ optimizer: any Optimizer, t0: Int, tMult: Int = 1, etaMin: Double = 0) throws(SchedulerError) {
        let scheduler = "CosineAnnealingWarmRestarts"
        guard t0 >= 1 else { throw .invalidArgument(scheduler: scheduler, name: "T_0", value: Double(t0)) }
        guard tMult >= 1 else { throw .invalidArgument(scheduler: scheduler, name: "T_mult", value: Double(tMult)) }
        try Self.require(etaMin, "eta_min", of: scheduler) { $0 >= 0 }
        self.t0 = t0
        self.tMult = tMult
        self.etaMin = etaMin
        self.tI = t0
        try super.init(optimizer: optimizer)
    }

    override func update(epoch: Int?) throws(SchedulerError) {
        if lastEpoch < 0 {
            tI = t0
            tCur = 0
            lastEpoch = 0
        } else {
            lastEpoch += 1
            tCur += 1
            if tCur >= tI {
                tCur %= tI
                tI *= tMult
            }
        }
        let rates = baseLRs.map { etaMin + ($0 - etaMin) * (1 + cos(.pi * Double(tCur) / Double(tI))) / 2 }
        for (index, rate) in zip(optimizer.groupSchedules.indices, rates) { optimizer.groupSchedules[index].lr = rate }
        lastLRs = currentLRs
    }

    public override func stateDict() -> [String: Double] {
        super.stateDict().merging(["T_cur": Double(tCur), "T_i": Double(tI)]) { $1 }
    }

    public override func load(stateDict state: [String: Double]) throws(SchedulerError) {
        try super.load(stateDict: state)
        guard let cur = state["T_cur"].flatMap(Int.init(exactly:)), let i = state["T_i"].flatMap(Int.init(exactly:)),
              i >= 1, cur >= 0 else {
            throw .invalidState(scheduler: name, reason: "missing or invalid 'T_cur' / 'T_i'")
        }
        tCur = cur
        tI = i
    }
}
