/// Multiplies the learning rate by `gamma` at each milestone step (a milestone listed twice multiplies twice), as
/// `torch.optim.lr_scheduler.MultiStepLR`.
public final class MultiStepLR: LRScheduler {
    public let milestones: [Int]
    public let gamma: Double

    public init(_ optimizer: any Optimizer, milestones: [Int], gamma: Double = 0.1) throws(SchedulerError) {
        try Self.require(gamma, "gamma", of: "MultiStepLR") { $0 >= 0 }
        if let bad = milestones.first(where: { $0 < 0 }) {
            throw .invalidArgument(scheduler: "MultiStepLR", name: "milestone", value: Double(bad))
        }
        self.milestones = milestones.sorted()
        self.gamma = gamma
        try super.init(optimizer: optimizer)
    }

    public override func learningRates() -> [Double] {
        let hits = milestones.filter { $0 == lastEpoch }.count
        return hits == 0 ? currentLRs : currentLRs.map { $0 * power(gamma, Double(hits)) }
    }

    public override func closedFormLearningRates() -> [Double]? {
        let passed = milestones.filter { $0 <= lastEpoch }.count
        return baseLRs.map { $0 * power(gamma, Double(passed)) }
    }
}
