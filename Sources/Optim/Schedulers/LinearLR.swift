/// Scales the base rate by a factor that moves linearly from `startFactor` to `endFactor` over `totalIters` steps
/// (a warm-up, typically), as `torch.optim.lr_scheduler.LinearLR`.
public final class LinearLR: LRScheduler {
    public let startFactor: Double
    public let endFactor: Double
    public let totalIters: Int

    public init(_ optimizer: any Optimizer, startFactor: Double = 1.0 / 3, endFactor: Double = 1, totalIters: Int = 5)
        throws(SchedulerError)
    {
        try Self.require(startFactor, "start factor", of: "LinearLR") { $0 > 0 && $0 <= 1 }
        try Self.require(endFactor, "end factor", of: "LinearLR") { $0 >= 0 && $0 <= 1 }
        guard totalIters >= 1 else {
            throw .invalidArgument(scheduler: "LinearLR", name: "total iters", value: Double(totalIters))
        }
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.totalIters = totalIters
        try super.init(optimizer: optimizer)
    }

    public override func learningRates() -> [Double] {
        if lastEpoch == 0 { return currentLRs.map { $0 * startFactor } }
        if isInitialStep || lastEpoch > totalIters { return currentLRs }
        let change = endFactor - startFactor
        let factor = 1 + change / (Double(totalIters) * startFactor + Double(lastEpoch - 1) * change)
        return currentLRs.map { $0 * factor }
    }

    public override func closedFormLearningRates() -> [Double]? {
        let progress = Double(min(totalIters, lastEpoch)) / Double(totalIters)
        return baseLRs.map { $0 * (startFactor + (endFactor - startFactor) * progress) }
    }
}
