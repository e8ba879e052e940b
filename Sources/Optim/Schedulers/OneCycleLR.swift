import Foundation

/// The 1cycle policy (Smith & Topin, 2017), as `torch.optim.lr_scheduler.OneCycleLR`: the rate rises from
/// maxLR/divFactor to maxLR over the first `pctStart` of `totalSteps`, then anneals to
/// maxLR/(divFactor·finalDivFactor) (with `threePhase`, back to the start first, then down). Momentum — SGD's
/// `momentum`, or β1 of Adam and AdamW — cycles the opposite way between `maxMomentum` and `baseMomentum`.
public final class OneCycleLR: LRScheduler {
    public enum Annealing: String, Sendable, CaseIterable { case cos, linear }

    public let totalSteps: Int
    public let annealing: Annealing
    public let cyclesMomentum: Bool
    private let phases: [Phase]
    private let maxLRs: [Double], minLRs: [Double]
    private let maxMomentums: [Double], baseMomentums: [Double]
    private let usesBeta1: Bool

    /// The quantities a phase moves between, by name as in PyTorch.
    private enum Level { case initial, max, min, maxMomentum, baseMomentum }
    private struct Phase {
        let endStep: Double
        let startLR: Level, endLR: Level
        let startMomentum: Level, endMomentum: Level
    }

    public init(
        _ optimizer: Optimizer, maxLR: Double, totalSteps: Int, pctStart: Double = 0.3, annealing: Annealing = .cos,
        cycleMomentum: Bool = true, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95, divFactor: Double = 25,
        finalDivFactor: Double = 1e4, threePhase: Bool = false
    ) throws(SchedulerError) {
        let name = "OneCycleLR"
        guard totalSteps >= 1 else { throw .invalidArgument(scheduler: name, name: "total steps", value: Double(totalSteps)) }
        try Self.require(maxLR, "max lr", of: name) { $0 > 0 }
        try Self.require(pctStart, "pct start", of: name) { $0 >= 0 && $0 <= 1 }
        try Self.require(divFactor, "div factor", of: name) { $0 > 0 }
        try Self.require(finalDivFactor, "final div factor", of: name) { $0 > 0 }
        try Self.require(baseMomentum, "base momentum", of: name) { $0 >= 0 && $0 < 1 }
        try Self.require(maxMomentum, "max momentum", of: name) { $0 >= 0 && $0 < 1 }
        let total = Double(totalSteps)
        // pct_start · total_steps = 1 makes the warm-up phase end where it starts: PyTorch divides 0 by 0 there
        // (ZeroDivisionError); refuse it by name rather than produce a NaN learning rate.
        guard pctStart * total != 1 else {
            throw .invalidArgument(scheduler: name, name: "pct start (pct start × total steps = 1)", value: pctStart)
        }
        phases = threePhase
            ? [Phase(endStep: pctStart * total - 1, startLR: .initial, endLR: .max,
                     startMomentum: .maxMomentum, endMomentum: .baseMomentum),
               Phase(endStep: 2 * pctStart * total - 2, startLR: .max, endLR: .initial,
                     startMomentum: .baseMomentum, endMomentum: .maxMomentum),
               Phase(endStep: total - 1, startLR: .initial, endLR: .min,
                     startMomentum: .maxMomentum, endMomentum: .maxMomentum)]
            : [Phase(endStep: pctStart * total - 1, startLR: .initial, endLR: .max,
                     startMomentum: .maxMomentum, endMomentum: .baseMomentum),
               Phase(endStep: total - 1, startLR: .max, endLR: .min,
                     startMomentum: .baseMomentum, endMomentum: .maxMomentum)]
        self.totalSteps = totalSteps
        self.annealing = annealing
        self.cyclesMomentum = cycleMomentum
        let groups = optimizer.paramGroups.count
        maxLRs = Array(repeating: maxLR, count: groups)
        minLRs = Array(repeating: maxLR / divFactor / finalDivFactor, count: groups)
        maxMomentums = Array(repeating: maxMomentum, count: groups)
        baseMomentums = Array(repeating: baseMomentum, count: groups)
        usesBeta1 = optimizer is Adam
        if cycleMomentum && !(optimizer is Adam || optimizer is SGD) { throw .optimizerWithoutMomentum(scheduler: name) }
        for index in optimizer.paramGroups.indices {
            optimizer.paramGroups[index].initialLR = maxLR / divFactor
            optimizer.paramGroups[index].initialLRClaimed = true
            if cycleMomentum { Self.setMomentum(maxMomentum, of: &optimizer.paramGroups[index], beta1: usesBeta1) }
        }
        try super.init(optimizer: optimizer)
    }

    private static func setMomentum(_ value: Double, of group: inout ParamGroup, beta1: Bool) {
        if beta1 { group.betas.0 = value } else { group.momentum = value }
    }

    private func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        switch annealing {
        case .cos: return end + (start - end) / 2 * (cos(.pi * pct) + 1)
        case .linear: return (end - start) * pct + start
        }
    }

    public override func learningRates() throws(SchedulerError) -> [Double] {
        let step = Double(lastEpoch)
        guard lastEpoch <= totalSteps else {
            throw .steppedPastTotal(scheduler: "OneCycleLR", step: lastEpoch, total: totalSteps)
        }
        var rates: [Double] = []
        for index in optimizer.paramGroups.indices {
            func level(_ level: Level) -> Double {
                switch level {
                case .initial: return optimizer.paramGroups[index].initialLR
                case .max: return maxLRs[index]
                case .min: return minLRs[index]
                case .maxMomentum: return maxMomentums[index]
                case .baseMomentum: return baseMomentums[index]
                }
            }
            var startStep = 0.0
            for (phaseIndex, phase) in phases.enumerated() {
                if step <= phase.endStep || phaseIndex == phases.count - 1 {
                    let pct = (step - startStep) / (phase.endStep - startStep)
                    rates.append(anneal(level(phase.startLR), level(phase.endLR), pct))
                    if cyclesMomentum {
                        let momentum = anneal(level(phase.startMomentum), level(phase.endMomentum), pct)
                        Self.setMomentum(momentum, of: &optimizer.paramGroups[index], beta1: usesBeta1)
                    }
                    break
                }
                startStep = phase.endStep
            }
        }
        return rates
    }
}
