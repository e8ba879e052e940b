/// The mechanics every epoch-based learning-rate scheduler shares, as `torch.optim.lr_scheduler.LRScheduler`.
///
/// A scheduler is created after its optimizer and stepped once after each optimizer step (or epoch). On creation it
/// takes each group's learning rate as its base (``ParamGroup/initialLR``, claimed by the first scheduler of a
/// group) and applies its value for step 0. A subclass states its formula in ``learningRates()``: the chainable
/// (recursive) form PyTorch uses, which reads the groups' current rates, and optionally a closed form in
/// ``closedFormLearningRates()``, used when a ``SequentialLR`` restarts it.
///
/// Every scheduler is one, ``ReduceLROnPlateau`` included (as in PyTorch ≥ 2.2), so one `LRScheduler` value can
/// hold any schedule, save it with ``stateDict()`` and restore it with ``load(stateDict:)``. The plateau schedule
/// steps on a metric: its `step(metric:)` replaces ``step()``, which throws
/// ``SchedulerError/metricRequired(scheduler:)``.
open class LRScheduler {
    public let optimizer: any Optimizer
    /// The learning rate of each group at the start of the schedule.
    public internal(set) var baseLRs: [Double]
    /// The number of steps taken; −1 before the initial step.
    public internal(set) var lastEpoch = -1
    /// The learning rate of each group after the last step.
    public internal(set) var lastLRs: [Double] = []
    var stepCount = 0
    /// True during the step the initializer takes.
    public internal(set) var isInitialStep = false

    /// Takes the groups' base rates and applies step 0. Subclasses set their own properties first.
    public init(optimizer: any Optimizer) throws(SchedulerError) {
        self.optimizer = optimizer
        for index in optimizer.groupSchedules.indices where !optimizer.groupSchedules[index].initialLRClaimed {
            optimizer.groupSchedules[index].initialLR = optimizer.groupSchedules[index].lr
            optimizer.groupSchedules[index].initialLRClaimed = true
        }
        baseLRs = optimizer.groupSchedules.map(\.initialLR)
        try initialStep()
    }

    /// Leaves the base rates and the initial step to the subclass (``SequentialLR``, ``ReduceLROnPlateau``).
    init(deferringStartOf optimizer: any Optimizer) {
        self.optimizer = optimizer
        baseLRs = optimizer.groupSchedules.map(\.initialLR)
    }

    /// Whether the schedule steps on a metric (``ReduceLROnPlateau``: `step(metric:)` after each evaluation)
    /// rather than with `step()` after each optimizer step.
    open var stepsOnMetric: Bool { false }

    /// Advances the schedule by one step and sets each group's learning rate.
    /// - Throws: ``SchedulerError`` when the schedule cannot take another step (``OneCycleLR`` past its end), or
    ///   steps on a metric (``ReduceLROnPlateau``).
    public func step() throws(SchedulerError) {
        stepCount += 1
        try update(epoch: nil)
    }

    func initialStep() throws(SchedulerError) {
        stepCount = 0
        isInitialStep = true
        defer { isInitialStep = false }
        try step()
    }

    /// Moves to `epoch` (closed form, when the scheduler has one) or to the next step, and applies the rates.
    func update(epoch: Int?) throws(SchedulerError) {
        let rates: [Double]
        if let epoch {
            lastEpoch = epoch
            if let closedForm = closedFormLearningRates() {
                rates = closedForm
            } else {
                rates = try learningRates()
            }
        } else {
            lastEpoch += 1
            rates = try learningRates()
        }
        for (index, rate) in zip(optimizer.groupSchedules.indices, rates) { optimizer.groupSchedules[index].lr = rate }
        lastLRs = optimizer.groupSchedules.map(\.lr)
    }

    /// The groups' current learning rates.
    public var currentLRs: [Double] { optimizer.groupSchedules.map(\.lr) }

    // MARK: - What a subclass states

    /// The learning rates at ``LRScheduler/lastEpoch``, in the chainable form (it may read ``LRScheduler/currentLRs``).
    open func learningRates() throws(SchedulerError) -> [Double] { currentLRs }

    /// The learning rates at ``LRScheduler/lastEpoch`` from the base rates alone, or nil when there is no closed form.
    open func closedFormLearningRates() -> [Double]? { nil }

    // MARK: - State

    /// The scheduler's state, for a checkpoint: step counts and rates, and a subclass's own counters.
    open func stateDict() -> [String: Double] {
        var state: [String: Double] = ["last_epoch": Double(lastEpoch), "step_count": Double(stepCount)]
        for (index, rate) in baseLRs.enumerated() { state["base_lr.\(index)"] = rate }
        for (index, rate) in lastLRs.enumerated() { state["last_lr.\(index)"] = rate }
        return state
    }

    /// Restores the state from ``stateDict()``.
    /// - Throws: ``SchedulerError/invalidState(scheduler:reason:)`` naming a missing or malformed entry.
    open func load(stateDict state: [String: Double]) throws(SchedulerError) {
        func value(_ key: String) throws(SchedulerError) -> Double {
            guard let value = state[key] else { throw .invalidState(scheduler: name, reason: "missing '\(key)'") }
            return value
        }
        let lastEpoch = try value("last_epoch"), stepCount = try value("step_count")
        guard let epoch = Int(exactly: lastEpoch), let steps = Int(exactly: stepCount) else {
            throw .invalidState(scheduler: name, reason: "non-integral step counts")
        }
        var base: [Double] = [], last: [Double] = []
        for index in optimizer.groupSchedules.indices {
            base.append(try value("base_lr.\(index)"))
            last.append(try value("last_lr.\(index)"))
        }
        self.lastEpoch = epoch
        self.stepCount = steps
        baseLRs = base
        lastLRs = last
    }

    /// The scheduler's type name, for messages and checkpoints.
    public var name: String { String(describing: type(of: self)) }

    /// Throws unless `value` is finite and satisfies `valid`.
    static func require(
        _ value: Double, _ argument: String, of scheduler: String, _ valid: (Double) -> Bool
    ) throws(SchedulerError) {
        guard value.isFinite, valid(value) else {
            throw .invalidArgument(scheduler: scheduler, name: argument, value: value)
        }
    }
}
