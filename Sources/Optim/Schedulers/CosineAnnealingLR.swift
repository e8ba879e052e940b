import Foundation

/// Cosine annealing from the base rate to `etaMin` over `tMax` steps (and back up, periodically, past it), in
/// PyTorch's recursive form, as `torch.optim.lr_scheduler.CosineAnnealingLR`:
///
///     η(t+1) = ηmin + (η(t) − ηmin) · (1 + cos(π(t+1)/Tmax)) / (1 + cos(πt/Tmax))
///
/// which equals the closed form ηmin + (η0 − ηmin)(1 + cos(πt/Tmax))/2 when nothing else changes the rate.
public final class CosineAnnealingLR: LRScheduler {
    public let tMax: Int
    public let etaMin: Double

    public init(_ optimizer: any Optimizer, tMax: Int, etaMin: Double = 0) throws(SchedulerError) {
        guard tMax >= 1 else { throw .invalidArgument(scheduler: "CosineAnnealingLR", name: "T_max", value: Double(tMax)) }
        try Self.require(etaMin, "eta_min", of: "CosineAnnealingLR") { $0 >= 0 }
        self.tMax = tMax
        self.etaMin = etaMin
        try super.init(optimizer: optimizer)
    }

    public override func learningRates() -> [Double] {
        let t = Double(lastEpoch), period = Double(tMax)
        if isInitialStep { return currentLRs }
        if stepCount == 1 && lastEpoch > 0 {
            return baseLRs.map { etaMin + ($0 - etaMin) * (1 + cos(t * .pi / period)) / 2 }
        }
        if (lastEpoch - 1 - tMax) % (2 * tMax) == 0 {
            return zip(currentLRs, baseLRs).map { lr, base in lr + (base - etaMin) * (1 - cos(.pi / period)) / 2 }
        }
        return currentLRs.map { lr in
            (1 + cos(.pi * t / period)) / (1 + cos(.pi * (t - 1) / period)) * (lr - etaMin) + etaMin
        }
    }

    public override func closedFormLearningRates() -> [Double]? {
        baseLRs.map { etaMin + ($0 - etaMin) * (1 + cos(.pi * Double(lastEpoch) / Double(tMax))) / 2 }
    }
}
