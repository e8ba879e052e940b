import Foundation

/// Schedule-Free AdamW (Defazio et al., 2024), as `schedulefree.AdamWScheduleFree` 1.4.1: AdamW whose iterates are
/// averaged instead of annealed, so that no learning-rate schedule (and no training length) is needed.
///
/// The parameters hold y, where gradients are taken, in train mode, and x, the average to evaluate, in eval mode:
/// call ``RuleOptimizer/train()`` before stepping (a step in eval mode is refused, as the original raises) and
/// ``RuleOptimizer/eval()`` before evaluating, sampling or saving the model. Per group, step k (from 0):
///
///     lr_k = lr · min(1, (k + 1)/warmup_steps);   lr_max ← max(lr_max, lr_k)
///     w = (k + 1)^r · lr_max^weight_lr_power;   weight_sum ← weight_sum + w;   c = w / weight_sum
///     per parameter with a gradient: the update of `ScheduleFreeStep` (v, ĝ with decay at y, y, z)
///     eval():  x = lerp(y, z, 1 − 1/β1);   train():  y = lerp(x, z, 1 − β1)
///
/// State: `z` (always float32: a copy of the weights) and `exp_avg_sq` (in the group's `states` storage) per
/// parameter; `k`, `lr_max` and `weight_sum` per group (saved with the group).
public typealias AdamWScheduleFree = RuleOptimizer<AdamWScheduleFreeRule>

/// The options of ``AdamWScheduleFree``, with `schedulefree`'s defaults.
public struct ScheduleFreeOptions: OptimizerOptions {
    public var lr = 0.0025
    /// (β1, β2): β1 sets where gradients are taken between the average and z; β2 the second moment's decay.
    public var betas = (0.9, 0.999)
    /// ε, added to the denominator.
    public var eps = 1e-8
    /// λ, decoupled weight decay applied at y.
    public var weightDecay = 0.0
    /// Steps of linear warm-up of the learning rate (0: none).
    public var warmupSteps = 0
    /// r: the average weights step k by (k + 1)^r.
    public var r = 0.0
    /// The average weights each step by the largest learning rate so far to this power.
    public var weightLRPower = 2.0
    /// How v is stored: float32 (the original's), bfloat16, or torchao's 8- or 4-bit block-quantized storage; z
    /// stays float32. Not an option of the original.
    public var states = StateStorage.float32

    public init() {}

    public static let fields: [OptionField<ScheduleFreeOptions>] = [
        .number("lr", \.lr, help: "Learning rate."),
        .pair("betas", \.betas, help: "β1,β2: the interpolation between the average and z, and the second moment's decay."),
        .number("eps", \.eps, help: "ε, added to the denominator."),
        .number("weight_decay", \.weightDecay, help: "Weight decay λ, decoupled, applied at y."),
        .integer("warmup_steps", \.warmupSteps, help: "Steps of linear learning-rate warm-up."),
        .number("r", \.r, help: "Power of the step number in each step's weight in the average."),
        .number("weight_lr_power", \.weightLRPower,
                help: "Power of the largest learning rate so far in each step's weight in the average."),
        .choice("states", \.states, help: "How v is stored: fp32, bf16, int8 or int4 (z stays float32).")
            .describingStorage().omittedAtDefault(),
    ]

    public func validate(initialLR: Double) throws(OptimError) {
        try Self.requireNonNegative(lr, else: OptimError.invalidLearningRate)
        try Self.requireNonNegative(eps, else: OptimError.invalidEpsilon)
        // β1 = 0 would put eval()'s weight 1 − 1/β1 at −∞.
        guard betas.0 > 0 && betas.0 < 1 else {
            throw .invalidOption(name: "betas", value: betas.0, valid: "β1 in (0, 1): eval() divides by it")
        }
        guard betas.1 >= 0 && betas.1 < 1 else { throw .invalidBeta(index: 1, value: betas.1) }
        try Self.requireNonNegative(weightDecay, else: OptimError.invalidWeightDecay)
        guard warmupSteps >= 0 else {
            throw .invalidOption(name: "warmup_steps", value: Double(warmupSteps), valid: ">= 0")
        }
        guard r.isFinite, r >= 0 else { throw .invalidOption(name: "r", value: r, valid: "finite and >= 0") }
        guard weightLRPower.isFinite, weightLRPower >= 0 else {
            throw .invalidOption(name: "weight_lr_power", value: weightLRPower, valid: "finite and >= 0")
        }
    }
}

/// A group's counters, as `schedulefree` keeps them in the group's dictionary.
public struct ScheduleFreeCounters: GroupCounters {
    /// Steps the group has taken (whether or not a parameter had a gradient).
    public var k = 0
    /// The largest warmed-up learning rate so far (−1 before the first step).
    public var lrMax = -1.0
    /// The sum of every step's weight in the average.
    public var weightSum = 0.0

    public init() {}

    public var textByName: [String: String] {
        ["k": String(k), "lr_max": String(lrMax), "weight_sum": String(weightSum)]
    }

    public init?(textByName text: [String: String]) {
        guard text.count == 3, let k = text["k"].flatMap({ Int($0) }), k >= 0,
              let lrMax = text["lr_max"].flatMap({ Double($0) }), lrMax.isFinite, lrMax >= -1,
              let weightSum = text["weight_sum"].flatMap({ Double($0) }), weightSum.isFinite, weightSum >= 0
        else { return nil }
        self.k = k
        self.lrMax = lrMax
        self.weightSum = weightSum
    }

    /// The warmed-up learning rate of step `step` (from 0).
    func learningRate(step: Int, _ options: ScheduleFreeOptions) -> Double {
        options.lr * (step < options.warmupSteps ? Double(step + 1) / Double(options.warmupSteps) : 1)
    }

    /// Step `step`'s weight in the average, with the largest learning rate as it stands.
    func weight(step: Int, _ options: ScheduleFreeOptions) -> Double {
        pow(Double(step + 1), options.r) * pow(lrMax, options.weightLRPower)
    }
}

/// Schedule-Free AdamW's math: the counters of a group's step and the fused update of `ScheduleFreeStep`.
public enum AdamWScheduleFreeRule: UpdateRule {
    public static let name = "AdamWScheduleFree"
    public static var defaults: ScheduleFreeOptions { ScheduleFreeOptions() }
    public static let buffers: [StateBufferDeclaration] = [.float32(.z), .nonNegative(.expAvgSq)]
    /// The group counts its steps (`k`); a parameter's state keeps no count of its own, as the original's.
    public static var countsSteps: Bool { false }
    public static var hasModes: Bool { true }

    public static func uses(buffer index: Int, options: ScheduleFreeOptions) -> Bool { true }

    public static func storage(_ options: ScheduleFreeOptions) -> StateStorage { options.states }

    /// A parameter's state exists only once it has stepped, and then holds both buffers.
    public static func requiredBuffers(step: Int, options: ScheduleFreeOptions) -> [Int] { [0, 1] }

    public static func advance(_ counters: inout ScheduleFreeCounters, options: ScheduleFreeOptions) {
        let k = counters.k
        counters.lrMax = max(counters.learningRate(step: k, options), counters.lrMax)
        counters.weightSum += counters.weight(step: k, options)
        counters.k = k + 1
    }

    public static func kernel(
        _ options: ScheduleFreeOptions, counters: ScheduleFreeCounters, initialLR: Double, step: Int,
        freshState: Bool
    ) -> ScheduleFreeStep {
        // The counters are advanced already: this is step k − 1 of the group.
        let k = counters.k - 1
        let weight = counters.weight(step: k, options)
        return ScheduleFreeStep(
            lr: counters.learningRate(step: k, options), beta1: options.betas.0, beta2: options.betas.1,
            eps: options.eps, weightDecay: options.weightDecay,
            ckp1: counters.weightSum == 0 ? 0 : weight / counters.weightSum,
            biasCorrection2: 1 - pow(options.betas.1, Double(k + 1)), fresh: freshState)
    }

    public static func streams(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, state: StatePointers
    ) -> ScheduleFreeStep.Streams {
        ScheduleFreeStep.Streams(param: param, grad: grad, z: state[0] ?? param, expAvgSq: state[1] ?? param,
                                 storage: state.storage, expAvgSqScales: state.scales(1))
    }

    public static func changeMode(
        to mode: OptimizerMode, options: ScheduleFreeOptions, param: UnsafeMutablePointer<Float>,
        state: StatePointers, count: Int
    ) {
        guard let z = state[0] else { return }
        let beta1 = options.betas.0
        ScheduleFreeStep.interpolate(param, toward: z, weight: Float(mode == .eval ? 1 - 1 / beta1 : 1 - beta1),
                                     count: count)
    }
}

extension RuleOptimizer where Rule == AdamWScheduleFreeRule {
    /// Creates Schedule-Free AdamW over parameter groups; each option given here (nil: the original's default) is
    /// the default for groups that do not set it. It starts in eval mode: call ``train()`` before the first step.
    public convenience init(
        _ groups: [ParamGroup<ScheduleFreeOptions>], lr: Double? = nil, betas: (Double, Double)? = nil,
        eps: Double? = nil, weightDecay: Double? = nil, warmupSteps: Int? = nil, r: Double? = nil,
        weightLRPower: Double? = nil, states: StateStorage? = nil
    ) throws(OptimError) {
        var defaults = ScheduleFreeOptions()
        defaults.states = states ?? defaults.states
        defaults.lr = lr ?? defaults.lr
        defaults.betas = betas ?? defaults.betas
        defaults.eps = eps ?? defaults.eps
        defaults.weightDecay = weightDecay ?? defaults.weightDecay
        defaults.warmupSteps = warmupSteps ?? defaults.warmupSteps
        defaults.r = r ?? defaults.r
        defaults.weightLRPower = weightLRPower ?? defaults.weightLRPower
        try self.init(groups: groups, defaults: defaults)
    }

    /// Creates Schedule-Free AdamW over one group holding `params`.
    public convenience init(
        _ params: [Parameter], lr: Double? = nil, betas: (Double, Double)? = nil, eps: Double? = nil,
        weightDecay: Double? = nil, warmupSteps: Int? = nil, r: Double? = nil, weightLRPower: Double? = nil,
        states: StateStorage? = nil
    ) throws(OptimError) {
        try self.init([ParamGroup(params: params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                      warmupSteps: warmupSteps, r: r, weightLRPower: weightLRPower, states: states)
    }
}
