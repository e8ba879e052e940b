/// What an optimizer, a parameter group or gradient clipping refuses, with the offending value in the message.
public enum OptimError: Error, Equatable, CustomStringConvertible {
    case invalidLearningRate(Double)
    case invalidEpsilon(Double)
    /// `index` is 0 for β1 and 1 for β2.
    case invalidBeta(index: Int, value: Double)
    case invalidWeightDecay(Double)
    case invalidMomentum(Double)
    case invalidDampening(Double)
    case invalidInitialLearningRate(Double)
    case nesterovRequiresMomentumWithoutDampening(momentum: Double, dampening: Double)
    /// Any other option outside its range: PyTorch's name, the value, and the range in words ("finite and >= 0").
    case invalidOption(name: String, value: Double, valid: String)
    /// An option name (PyTorch's) that this optimizer does not have.
    case unknownOption(name: String, optimizer: String)
    /// An option's text that does not parse as its type.
    case unreadableOption(name: String, text: String, expected: String)
    /// Memory for this many elements of optimizer state could not be allocated.
    case outOfMemory(elements: Int)
    case emptyParameterList
    case emptyParamGroup(index: Int)
    case parameterInSeveralGroups(name: String)
    case invalidShape(name: String, shape: [Int])
    case valueCountMismatch(name: String, shape: [Int], count: Int)
    case gradientCountMismatch(name: String, expected: Int, actual: Int)
    case invalidMaxNorm(Double)
    case invalidNormType(Double)
    case nonFiniteTotalNorm(Float)
    case nonFiniteGradient(name: String)
    /// A step of an optimizer with modes (Schedule-Free) while its parameters hold their eval values.
    case stepInEvalMode(optimizer: String)
    /// A decay reference given for a parameter with another number of values.
    case decayReferenceMismatch(name: String, shape: [Int], count: Int)
    /// A decay reference given for a parameter that the optimizer does not hold, or whose group decays toward zero
    /// or has no weight decay.
    case noDecayReference(name: String, reason: String)

    /// The option at fault, by PyTorch's name, when the error is about one option's value.
    public var optionName: String? {
        switch self {
        case .invalidLearningRate, .invalidInitialLearningRate: "lr"
        case .invalidEpsilon: "eps"
        case .invalidBeta: "betas"
        case .invalidWeightDecay: "weight_decay"
        case .invalidMomentum, .nesterovRequiresMomentumWithoutDampening: "momentum"
        case .invalidDampening: "dampening"
        case .invalidOption(let name, _, _), .unreadableOption(let name, _, _), .unknownOption(let name, _): name
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .invalidLearningRate(let value):
            return "invalid learning rate: \(value) (must be finite and >= 0)"
        case .invalidEpsilon(let value):
            return "invalid epsilon value: \(value) (must be finite and >= 0)"
        case .invalidBeta(let index, let value):
            return "invalid beta parameter at index \(index): \(value) (must be in [0, 1))"
        case .invalidWeightDecay(let value):
            return "invalid weight decay value: \(value) (must be finite and >= 0)"
        case .invalidMomentum(let value):
            return "invalid momentum value: \(value) (must be finite and >= 0)"
        case .invalidDampening(let value):
            return "invalid dampening value: \(value) (must be finite)"
        case .invalidInitialLearningRate(let value):
            return "invalid initial learning rate: \(value) (must be finite and > 0 for schedule-scaled decay)"
        case .nesterovRequiresMomentumWithoutDampening(let momentum, let dampening):
            return "nesterov momentum requires a momentum > 0 and zero dampening, got momentum \(momentum), "
                + "dampening \(dampening)"
        case .invalidOption(let name, let value, let valid):
            return "invalid \(name) value: \(value) (must be \(valid))"
        case .unknownOption(let name, let optimizer):
            return "\(optimizer) has no option '\(name)'"
        case .unreadableOption(let name, let text, let expected):
            return "invalid \(name) value: '\(text)' (must be \(expected))"
        case .outOfMemory(let elements):
            return "cannot allocate optimizer state of \(elements) elements: out of memory"
        case .emptyParameterList:
            return "optimizer got an empty parameter list"
        case .emptyParamGroup(let index):
            return "parameter group \(index) has no parameters"
        case .parameterInSeveralGroups(let name):
            return "parameter '\(name)' appears in more than one parameter group (or twice in one)"
        case .invalidShape(let name, let shape):
            return "parameter '\(name)' has an invalid shape \(shape): dimensions must be >= 0 and their product "
                + "must fit in an Int"
        case .valueCountMismatch(let name, let shape, let count):
            return "parameter '\(name)' of shape \(shape) needs \(shape.reduce(1, *)) values, got \(count)"
        case .gradientCountMismatch(let name, let expected, let actual):
            return "gradient of parameter '\(name)' has \(actual) elements, expected \(expected)"
        case .invalidMaxNorm(let value):
            return "invalid max norm: \(value) (must be finite and >= 0)"
        case .invalidNormType(let value):
            return "invalid norm type: \(value) (must be > 0, or infinity)"
        case .nonFiniteGradient(let name):
            return "the gradient of parameter '\(name)' holds NaN or infinity; the step was not taken"
        case .stepInEvalMode(let optimizer):
            return "\(optimizer) was not in train mode when step was called: call train() before stepping and "
                + "eval() before evaluating"
        case .decayReferenceMismatch(let name, let shape, let count):
            return "the decay reference of parameter '\(name)' has \(count) values; the parameter has shape \(shape) "
                + "(\(shape.reduce(1, *)) values)"
        case .noDecayReference(let name, let reason):
            return "parameter '\(name)' takes no decay reference: \(reason)"
        case .nonFiniteTotalNorm(let value):
            return "the total norm of order of the gradients is non-finite (\(value)), so it cannot be clipped; "
                + "pass errorIfNonfinite: false to clip anyway"
        }
    }
}
