/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, as `torch.optim.SGD`.
///
/// Per step, for each parameter θ with gradient g (see ``SGDStep`` for the fused kernel):
///
///     g ← −g (maximize);  g ← g + λθ
///     b ← g on the first step, then b ← μ·b + (1 − dampening)·g
///     g ← g + μ·b (nesterov) or g ← b;   θ ← θ − lr·g
public final class SGD: Optimizer {
    /// Creates SGD over parameter groups; each option given here is the default for groups that do not set it.
    public init(
        _ groups: [ParamGroup], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
        weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws(OptimError) {
        let defaults = ParamGroup(
            params: [], lr: lr, weightDecay: weightDecay, maximize: maximize, momentum: momentum,
            dampening: dampening, nesterov: nesterov)
        try super.init(groups: groups, defaults: defaults)
    }

    /// Creates SGD over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
        weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws(OptimError) {
        try self.init(
            [ParamGroup(params: params)], lr: lr, momentum: momentum, dampening: dampening,
            weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
    }

    public override func validate(_ group: ParamGroup) throws(OptimError) {
        try Self.requireNonNegative(group.lr, else: OptimError.invalidLearningRate)
        try Self.requireNonNegative(group.momentum, else: OptimError.invalidMomentum)
        try Self.requireNonNegative(group.weightDecay, else: OptimError.invalidWeightDecay)
        guard group.dampening.isFinite else { throw .invalidDampening(group.dampening) }
        if group.nesterov && (group.momentum <= 0 || group.dampening != 0) {
            throw .nesterovRequiresMomentumWithoutDampening(momentum: group.momentum, dampening: group.dampening)
        }
    }

    public override func update(_ parameter: Parameter, state: ParameterState, group: ParamGroup) {
        guard let grad = parameter.grad else { return }
        let count = parameter.count
        let kernel = SGDStep(
            lr: group.lr, momentum: group.momentum, dampening: group.dampening, weightDecay: group.weightDecay,
            nesterov: group.nesterov, maximize: group.maximize,
            initializesBuffer: group.momentum != 0 && state.momentumBuffer == nil)
        parameter.values.withUnsafeMutablePointer { theta in
            grad.withUnsafePointer { g in
                if group.momentum != 0 {
                    state.withBuffer(\.momentumBuffer, count: count) { buffer in
                        kernel.apply(param: theta, grad: g, momentumBuffer: buffer, count: count)
                    }
                } else {
                    kernel.apply(param: theta, grad: g, momentumBuffer: nil, count: count)
                }
            }
        }
    }
}
