import Foundation

/// The 1cycle policy (Smith & Topin, 2017), as `torch.optim.lr_scheduler.OneCycleLR`: each group's rate rises from
/// maxLR/divFactor to its maxLR over the first `pctStart` of `totalSteps`, then anneals to
/// maxLR/(divFactor·finalDivFactor) (with `threePhase`, back to the start first, then down). Momentum — SGD's
/// `momentum`, or β1 of Adam and AdamW — cycles the opposite way between the group's max and base momentum.
///
/// `maxLRs`, `baseMomentums` and `maxMomentums` hold one value per parameter group (PyTorch takes a float or a
/// list for each); the initializers taking `maxLR`, `baseMomentum` and `maxMomentum` give every group the same.
/// The length is `totalSteps`, or `epochs × stepsPerEpoch` (PyTorch's `epochs` and `steps_per_epoch`):
///
/// ```swift
/// let cycle = try OneCycleLR(optimizer, maxLRs: [1e-3, 1e-2], epochs: 10, stepsPerEpoch: 469,
///                            baseMomentums: [0.85, 0.85], maxMomentums: [0.95, 0.9])
/// ```
public final class OneCycleLR: LRScheduler {
    public enum Annealing: String, Sendable, CaseIterable { case cos, linear }

    public let maxLRs: [Double]
    public let totalSteps: Int
    public let pctStart: Double
    public let annealing: Annealing
    public let cycleMomentum: Bool
    public let baseMomentums: [Double]
    public let maxMomentums: [Double]
    public let divFactor: Double
    public let finalDivFactor: Double
    public let threePhase: Bool
    private let minLRs: [Double]
    private let phases: [Phase]

    /// The quantities a phase moves between, by name as in PyTorch.
    private enum Level { case initial, max, min, maxMomentum, baseMomentum }
    private struct Phase {
        let endStep: Double
        let startLR: Level, endLR: Level
        let startMomentum: Level, endMomentum: Level
    }

    /// One maximum rate and one pair of momentums per parameter group, over `totalSteps` steps.
    /// - Throws: ``SchedulerError/countMismatch(scheduler:name:expected:actual:)`` naming a list without one value
    ///   per group, ``SchedulerError/invalidArgument(scheduler:name:value:)`` naming a value out of range.
    public init(
        _ optimizer: any Optimizer, maxLRs: [Double], totalSteps: Int, pctStart: Double = 0.3, annealing: Annealing = .cos,
        cycleMomentum: Bool = true, baseMomentums: [Double], maxMomentums: [Double], divFactor: Double = 25,
        finalDivFactor: Double = 1e4, threePhase: Bool = false
    ) throws(SchedulerError) {
        let name = "OneCycleLR", groups = optimizer.groupSchedules.count
        func requireOnePerGroup(_ values: [Double], _ argument: String) throws(SchedulerError) {
            guard values.count == groups else {
                throw .countMismatch(scheduler: name, name: "\(argument) (one per parameter group)", expected: groups,
                                     actual: values.count)
            }
        }
        guard totalSteps >= 1 else {
            throw .invalidArgument(scheduler: name, name: "total steps", value: Double(totalSteps))
        }
        try requireOnePerGroup(maxLRs, "max lrs")
        for maxLR in maxLRs { try Self.require(maxLR, "max lr", of: name) { $0 > 0 } }
        try Self.require(pctStart, "pct start", of: name) { $0 >= 0 && $0 <= 1 }
        try Self.require(divFactor, "div factor", of: name) { $0 > 0 }
        try Self.require(finalDivFactor, "final div factor", of: name) { $0 > 0 }
        try requireOnePerGroup(baseMomentums, "base momentums")
        for momentum in baseMomentums { try Self.require(momentum, "base momentum", of: name) { $0 >= 0 && $0 < 1 } }
        try requireOnePerGroup(maxMomentums, "max momentums")
        for momentum in maxMomentums { try Self.require(momentum, "max momentum", of: name) { $0 >= 0 && $0 < 1 } }
        let total = Double(totalSteps)
        // pct_start · total_steps = 1 makes the warm-up phase end where it starts: PyTorch divides 0 by 0 there
        // (ZeroDivisionError); refuse it by name rather than produce a NaN learning rate.
        guard pctStart * total != 1 else {
            throw .invalidArgument(scheduler: name, name: "pct start (pct start × total steps = 1)", value: pctStart)
        }
        // pct_start = 1 leaves the annealing phase no steps: the last step divides 1 by 0 (PyTorch's
        // ZeroDivisionError, a NaN learning rate here).
        guard pctStart < 1 else {
            throw .invalidArgument(scheduler: name, name: "pct start (1 leaves no steps to anneal)", value: pctStart)
        }
        if cycleMomentum && optimizer.groupSchedules.contains(where: { $0.momentum == nil }) {
            throw .optimizerWithoutMomentum(scheduler: name)
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
        self.maxLRs = maxLRs
        self.totalSteps = totalSteps
        self.pctStart = pctStart
        self.annealing = annealing
        self.cycleMomentum = cycleMomentum
        self.baseMomentums = baseMomentums
        self.maxMomentums = maxMomentums
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
        self.threePhase = threePhase
        minLRs = maxLRs.map { $0 / divFactor / finalDivFactor }
        for index in optimizer.groupSchedules.indices {
            optimizer.groupSchedules[index].initialLR = maxLRs[index] / divFactor
            optimizer.groupSchedules[index].initialLRClaimed = true
        }
        // PyTorch writes max_momentum into each group first; the initial step overwrites it, so that write is left out.
        try super.init(optimizer: optimizer)
    }

    /// The same maximum rate and momentums for every group, over `totalSteps` steps.
    public convenience init(
        _ optimizer: any Optimizer, maxLR: Double, totalSteps: Int, pctStart: Double = 0.3, annealing: Annealing = .cos,
        cycleMomentum: Bool = true, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95, divFactor: Double = 25,
        finalDivFactor: Double = 1e4, threePhase: Bool = false
    ) throws(SchedulerError) {
        let groups = optimizer.groupSchedules.count
        try self.init(
            optimizer, maxLRs: Array(repeating: maxLR, count: groups), totalSteps: totalSteps, pctStart: pctStart,
            annealing: annealing, cycleMomentum: cycleMomentum,
            baseMomentums: Array(repeating: baseMomentum, count: groups),
            maxMomentums: Array(repeating: maxMomentum, count: groups),
            divFactor: divFactor, finalDivFactor: finalDivFactor, threePhase: threePhase)
    }

    /// One maximum rate and one pair of momentums per parameter group, over `epochs × stepsPerEpoch` steps.
    /// - Throws: ``SchedulerError/invalidArgument(scheduler:name:value:)`` naming `epochs` or `steps per epoch`
    ///   below 1, or a product that overflows `Int`; otherwise as the `totalSteps` form.
    public convenience init(
        _ optimizer: any Optimizer, maxLRs: [Double], epochs: Int, stepsPerEpoch: Int, pctStart: Double = 0.3,
        annealing: Annealing = .cos, cycleMomentum: Bool = true, baseMomentums: [Double], maxMomentums: [Double],
        divFactor: Double = 25, finalDivFactor: Double = 1e4, threePhase: Bool = false
    ) throws(SchedulerError) {
        try self.init(
            optimizer, maxLRs: maxLRs, totalSteps: try Self.totalSteps(epochs: epochs, stepsPerEpoch: stepsPerEpoch),
            pctStart: pctStart, annealing: annealing, cycleMomentum: cycleMomentum, baseMomentums: baseMomentums,
            maxMomentums: maxMomentums, divFactor: divFactor, finalDivFactor: finalDivFactor, threePhase: threePhase)
    }

    /// The same maximum rate and momentums for every group, over `epochs × stepsPerEpoch` steps.
    public convenience init(
        _ optimizer: any Optimizer, maxLR: Double, epochs: Int, stepsPerEpoch: Int, pctStart: Double = 0.3,
        annealing: Annealing = .cos, cycleMomentum: Bool = true, baseMomentum: Double = 0.85,
        maxMomentum: Double = 0.95, divFactor: Double = 25, finalDivFactor: Double = 1e4, threePhase: Bool = false
    ) throws(SchedulerError) {
        try self.init(
            optimizer, maxLR: maxLR, totalSteps: try Self.totalSteps(epochs: epochs, stepsPerEpoch: stepsPerEpoch),
            pctStart: pctStart, annealing: annealing, cycleMomentum: cycleMomentum, baseMomentum: baseMomentum,
            maxMomentum: maxMomentum, divFactor: divFactor, finalDivFactor: finalDivFactor, threePhase: threePhase)
    }

    /// epochs · stepsPerEpoch, refusing a factor below 1 or a product past `Int.max` by name.
    private static func totalSteps(epochs: Int, stepsPerEpoch: Int) throws(SchedulerError) -> Int {
        let name = "OneCycleLR"
        guard epochs >= 1 else { throw .invalidArgument(scheduler: name, name: "epochs", value: Double(epochs)) }
        guard stepsPerEpoch >= 1 else {
            throw .invalidArgument(scheduler: name, name: "steps per epoch", value: Double(stepsPerEpoch))
        }
        let (total, overflow) = epochs.multipliedReportingOverflow(by: stepsPerEpoch)
        guard !overflow else {
            throw .invalidArgument(scheduler: name, name: "total steps (epochs × steps per epoch)",
                                   value: Double(epochs) * Double(stepsPerEpoch))
        }
        return total
    }

    /// Each group's momentum, as the cycle last set it: β1 for Adam and AdamW, `momentum` for SGD.
    public var currentMomentums: [Double] { optimizer.groupSchedules.indices.map(momentum(ofGroup:)) }

    // The one place the cycled momentum is read and written.
    private func momentum(ofGroup index: Int) -> Double {
        optimizer.groupSchedules[index].momentum ?? 0
    }

    private func setMomentum(_ value: Double, ofGroup index: Int) {
        optimizer.groupSchedules[index].momentum = value
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
        for index in optimizer.groupSchedules.indices {
            func level(_ level: Level) -> Double {
                switch level {
                case .initial: return optimizer.groupSchedules[index].initialLR
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
                    if cycleMomentum {
                        setMomentum(anneal(level(phase.startMomentum), level(phase.endMomentum), pct), ofGroup: index)
                    }
                    break
                }
                startStep = phase.endStep
            }
        }
        return rates
    }
}
