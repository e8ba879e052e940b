/// Sets each group's rate to its base rate times a function of the step, as `torch.optim.lr_scheduler.LambdaLR`.
///
/// ```swift
/// let warmup = try LambdaLR(optimizer) { step in min(1, Double(step + 1) / 100) }
/// ```
public final class LambdaLR: LRScheduler {
    public let factors: [@Sendable (Int) -> Double]

    /// One function for every group.
    public convenience init(_ optimizer: any Optimizer, factor: @escaping @Sendable (Int) -> Double) throws(SchedulerError) {
        try self.init(optimizer, factors: Array(repeating: factor, count: optimizer.groupSchedules.count))
    }

    /// One function per group.
    public init(_ optimizer: any Optimizer, factors: [@Sendable (Int) -> Double]) throws(SchedulerError) {
        guard factors.count == optimizer.groupSchedules.count else {
            throw .countMismatch(scheduler: "LambdaLR", name: "functions (one per parameter group)", expected: optimizer.groupSchedules.count,
                                 actual: factors.count)
        }
        self.factors = factors
        try super.init(optimizer: optimizer)
    }

    public override func learningRates() -> [Double] {
        zip(baseLRs, factors).map { base, factor in base * factor(lastEpoch) }
    }
}
