/// Multiplies the learning rate by `gamma` every step, as `torch.optim.lr_scheduler.ExponentialLR`.
public final class ExponentialLR: LRScheduler {
    public let gamma: Double

    public init(_ optimizer: any Optimizer, gamma: Double) throws(SchedulerError) {
        try Self.require(gamma, "gamma", of: "ExponentialLR") { $0 >= 0 }
        self.gamma = gamma
        try super.init(optimizer: optimizer)
    }

    public override func learningRates() -> [Double] {
        isInitialStep ? currentLRs : currentLRs.map { $0 * gamma }
    }

    public override func closedFormLearningRates() -> [Double]? {
        baseLRs.map { $0 * power(gamma, Double(lastEpoch)) }
    }
}
