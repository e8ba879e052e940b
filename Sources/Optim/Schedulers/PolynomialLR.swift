/// Decays the base rate to zero over `totalIters` steps as (1 − t/T)^power, as
/// `torch.optim.lr_scheduler.PolynomialLR`.
public final class PolynomialLR: LRScheduler {
    public let totalIters: Int
    public let power: Double

    public init(_ optimizer: any Optimizer, totalIters: Int = 5, power: Double = 1) throws(SchedulerError) {
        guard totalIters >= 1 else {
            throw .invalidArgument(scheduler: "PolynomialLR", name: "total iters", value: Double(totalIters))
        }
        try Self.require(power, "power", of: "PolynomialLR") { $0 >= 0 }
        self.totalIters = totalIters
        self.power = power
        try super.init(optimizer: optimizer)
    }

    public override func learningRates() -> [Double] {
        if isInitialStep || lastEpoch > totalIters { return currentLRs }
        let t = Double(lastEpoch), total = Double(totalIters)
        let factor = Kernels.power((1 - t / total) / (1 - (t - 1) / total), power)
        return currentLRs.map { $0 * factor }
    }

    public override func closedFormLearningRates() -> [Double]? {
        let progress = Double(min(totalIters, lastEpoch)) / Double(totalIters)
        return baseLRs.map { $0 * Kernels.power(1 - progress, power) }
    }
}
