/// Multiplies the learning rate by `gamma` every `stepSize` steps, as `torch.optim.lr_scheduler.StepLR`.
public final class StepLR: LRScheduler {
    public let stepSize: Int
    public let gamma: Double

    public init(_ optimizer: any Optimizer, stepSize: Int, gamma: Double = 0.1) throws(SchedulerError) {
        guard stepSize >= 1 else { throw .invalidArgument(scheduler: "StepLR", name: "step size", value: Double(stepSize)) }
        try Self.require(gamma, "gamma", of: "StepLR") { $0 >= 0 }
        self.stepSize = stepSize
        self.gamma = gamma
        try super.init(optimizer: optimizer)
    }

    public override func learningRates() -> [Double] {
        lastEpoch == 0 || lastEpoch % stepSize != 0 ? currentLRs : currentLRs.map { $0 * gamma }
    }

    public override func closedFormLearningRates() -> [Double]? {
        baseLRs.map { $0 * power(gamma, Double(lastEpoch / stepSize)) }
    }
}
