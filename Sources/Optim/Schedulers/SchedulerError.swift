/// What a learning-rate scheduler refuses, with the offending value in the message.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    case invalidArgument(scheduler: String, name: String, value: Double)
    case countMismatch(scheduler: String, name: String, expected: Int, actual: Int)
    case optimizerWithoutMomentum(scheduler: String)
    case steppedPastTotal(scheduler: String, step: Int, total: Int)
    case differentOptimizer(scheduler: String, index: Int)
    case invalidState(scheduler: String, reason: String)
    /// `step()` on a scheduler that steps on a metric (``ReduceLROnPlateau``): it needs `step(metric:)`.
    case metricRequired(scheduler: String)

    public var description: String {
        switch self {
        case .invalidArgument(let scheduler, let name, let value):
            return "\(scheduler): invalid \(name) \(value)"
        case .countMismatch(let scheduler, let name, let expected, let actual):
            return "\(scheduler): expected \(expected) \(name), got \(actual)"
        case .optimizerWithoutMomentum(let scheduler):
            return "\(scheduler): cycling momentum needs an optimizer with momentum (SGD, RMSprop) or betas (Adam, AdamW)"
        case .steppedPastTotal(let scheduler, let step, let total):
            return "\(scheduler): tried to step \(step) times, but the schedule has \(total) steps"
        case .differentOptimizer(let scheduler, let index):
            return "\(scheduler): the scheduler at index \(index) belongs to another optimizer"
        case .invalidState(let scheduler, let reason):
            return "\(scheduler): cannot load state: \(reason)"
        case .metricRequired(let scheduler):
            return "\(scheduler): steps on a metric: call step(metric:), not step()"
        }
    }
}
