/// The mechanics every optimizer shares: parameter groups, per-parameter state, validation, skipping parameters
/// without a gradient, `zeroGrad`. A subclass states its math in ``update(_:state:group:)`` and its rules in
/// ``validate(_:)``, and nothing else.
///
/// `step()` is atomic with respect to errors: it checks every group and every gradient before it changes anything,
/// so a throwing step leaves parameters and state as they were.
open class Optimizer {
    /// The parameter groups, in order. Options (such as `lr`) may be changed between steps; the next step checks
    /// them again. Add a group with ``addParamGroup(_:)``, which completes it from ``defaults``: a group appended
    /// here directly keeps the options it was made with.
    public var paramGroups: [ParamGroup]
    /// The options that groups take when they do not set their own.
    public let defaults: ParamGroup
    /// What a step does when a gradient holds NaN or ±infinity; see ``NonFiniteGradientPolicy``.
    public var nonFiniteGradients: NonFiniteGradientPolicy = .propagate
    /// The steps skipped because of non-finite gradients (with ``NonFiniteGradientPolicy/skip``).
    public internal(set) var skippedSteps = 0
    private var states: [ObjectIdentifier: ParameterState] = [:]
    /// The parameters of `paramGroups` as last checked for duplicates, so that a step re-checks (and allocates)
    /// only when the groups' membership has changed.
    private var checkedMembership: [ObjectIdentifier] = []

    /// Creates an optimizer over `groups`, each completed from `defaults`.
    /// - Throws: an ``OptimError`` for an empty list, an empty group, a parameter in two groups, or an invalid
    ///   option.
    public init(groups: [ParamGroup], defaults: ParamGroup) throws(OptimError) {
        self.defaults = defaults.filled(from: defaults)
        self.paramGroups = []
        guard groups.contains(where: { !$0.params.isEmpty }) else { throw .emptyParameterList }
        try validate(self.defaults)
        for group in groups { try addParamGroup(group) }
    }

    /// Adds a group, completing the options it does not set from ``defaults``, like PyTorch's `add_param_group`.
    /// - Throws: ``OptimError/emptyParamGroup(index:)``, ``OptimError/parameterInSeveralGroups(name:)``, or the
    ///   error for an invalid option; nothing is added then.
    public func addParamGroup(_ group: ParamGroup) throws(OptimError) {
        let filled = group.filled(from: defaults)
        guard !filled.params.isEmpty else { throw .emptyParamGroup(index: paramGroups.count) }
        try validate(filled)
        try Self.checkMembership(paramGroups + [filled])
        paramGroups.append(filled)
    }

    /// Performs one optimization step over every parameter that has a gradient.
    ///
    /// A parameter whose `grad` is nil is skipped entirely: no decay, no state change, no step count.
    /// - Throws: an ``OptimError`` for an invalid option, a parameter in two groups, or a gradient or value count
    ///   that differs from its parameter's; nothing is changed then.
    public func step() throws(OptimError) {
        if !membershipUnchanged() {
            try Self.checkMembership(paramGroups)
            checkedMembership = paramGroups.flatMap { $0.params.map(ObjectIdentifier.init) }
        }
        for group in paramGroups {
            try validate(group)
            for parameter in group.params {
                guard parameter.values.count == parameter.count else {
                    throw .valueCountMismatch(name: parameter.name, shape: parameter.shape,
                                              count: parameter.values.count)
                }
                if let grad = parameter.grad, grad.count != parameter.count {
                    throw .gradientCountMismatch(name: parameter.name, expected: parameter.count, actual: grad.count)
                }
            }
        }
        if nonFiniteGradients != .propagate, let bad = firstParameterWithNonFiniteGradient() {
            if nonFiniteGradients == .throw { throw .nonFiniteGradient(name: bad.name) }
            skippedSteps += 1
            return
        }
        for group in paramGroups {
            for parameter in group.params where parameter.grad != nil {
                update(parameter, state: stateCreatingIfNeeded(for: parameter), group: group)
            }
        }
    }

    /// The first parameter whose gradient holds NaN or ±infinity. Gradients written by `backward()` carry the
    /// answer already; others are read once.
    private func firstParameterWithNonFiniteGradient() -> Parameter? {
        for group in paramGroups {
            for parameter in group.params where !parameter.gradientIsFinite() { return parameter }
        }
        return nil
    }

    /// Drops every gradient (`setToNone`, PyTorch's default) or sets them to zero.
    public func zeroGrad(setToNone: Bool = true) {
        for group in paramGroups {
            for parameter in group.params { parameter.zeroGrad(setToNone: setToNone) }
        }
    }

    /// The state kept for `parameter`, or nil if it has never been stepped.
    public func state(for parameter: Parameter) -> ParameterState? {
        states[ObjectIdentifier(parameter)]
    }

    /// Every parameter, in group order.
    public var parameters: [Parameter] { paramGroups.flatMap(\.params) }

    /// Replaces all per-parameter state (when loading a checkpoint).
    func replaceStates(_ restored: [(Parameter, ParameterState)]) {
        states = Dictionary(uniqueKeysWithValues: restored.map { (ObjectIdentifier($0.0), $0.1) })
    }

    // MARK: - What a subclass states

    /// Throws if an option of `group` is invalid for this optimizer. The base checks nothing.
    open func validate(_ group: ParamGroup) throws(OptimError) {}

    /// The state buffers (by PyTorch's names) that a parameter which has taken `step` steps must have, so that
    /// loading a checkpoint refuses one that lacks them. The base requires none.
    open func requiredStateBuffers(step: Int) -> [String] { [] }

    /// Applies one step to `parameter`, whose gradient is present and of the right count.
    open func update(_ parameter: Parameter, state: ParameterState, group: ParamGroup) {
        fatalError("\(type(of: self)) must override update(_:state:group:)")
    }

    // MARK: - Shared checks

    /// Throws unless `value` is finite and >= 0.
    public static func requireNonNegative(
        _ value: Double, else error: (Double) -> OptimError
    ) throws(OptimError) {
        guard value.isFinite, value >= 0 else { throw error(value) }
    }

    private func stateCreatingIfNeeded(for parameter: Parameter) -> ParameterState {
        let key = ObjectIdentifier(parameter)
        if let state = states[key] { return state }
        let state = ParameterState()
        states[key] = state
        return state
    }

    private func membershipUnchanged() -> Bool {
        var index = 0
        for group in paramGroups {
            for parameter in group.params {
                guard index < checkedMembership.count, checkedMembership[index] == ObjectIdentifier(parameter) else {
                    return false
                }
                index += 1
            }
        }
        return index == checkedMembership.count
    }

    private static func checkMembership(_ groups: [ParamGroup]) throws(OptimError) {
        var seen = Set<ObjectIdentifier>()
        for group in groups {
            for parameter in group.params where !seen.insert(ObjectIdentifier(parameter)).inserted {
                throw .parameterInSeveralGroups(name: parameter.name)
            }
        }
    }
}
