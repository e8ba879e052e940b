/// An optimizer chosen at run time with its options, typed: the text a user or a file gives is parsed and
/// validated here, once, and from then on the options travel as the optimizer's own options type.
///
/// ```swift
/// let choice = try OptimizerChoice(.adamw, settings: ["lr": "3e-4", "weight_decay": "0.1"])
/// let optimizer = try choice.makeOptimizer(model.parameters(), excludingFromDecay: .biasesAndNorms)
/// ```
///
/// It remembers which options were given (``given``: by PyTorch's name, as the option prints its value), which
/// is what a run's saved options hold: a default that changes in a later version is not frozen into old runs.
public struct OptimizerChoice: Sendable, Equatable {
    public let kind: OptimizerKind
    /// The options given, by PyTorch's name, each as its option prints the value (`0.001`, `0.9,0.99`, `true`).
    public private(set) var given: [String: String]
    /// The kind's options type (``UpdateRule/Options`` of ``OptimizerKind/rule``): its defaults with ``given``.
    private var options: any OptimizerOptions

    /// The optimizer's defaults (PyTorch's).
    public init(_ kind: OptimizerKind) {
        self.kind = kind
        given = [:]
        options = kind.rule.defaultOptions
    }

    /// The optimizer with the options in `settings` (by PyTorch's name, as text) replacing its defaults.
    /// - Throws: ``OptimError/unknownOption(name:optimizer:)`` for a name the kind does not have,
    ///   ``OptimError/unreadableOption(name:text:expected:)`` for text that does not parse, or the optimizer's
    ///   error for the first invalid value.
    public init(_ kind: OptimizerKind, settings: [String: String]) throws(OptimError) {
        (options, given) = try Self.parse(kind.rule, settings)
        self.kind = kind
    }

    public static func == (lhs: OptimizerChoice, rhs: OptimizerChoice) -> Bool {
        lhs.kind == rhs.kind && lhs.given == rhs.given
    }

    /// The learning rate.
    public var lr: Double { options.lr }

    /// λ, as the optimizer defines it (coupled or decoupled).
    public var weightDecay: Double { options.weightDecay }

    /// The option `name`'s value as text (given or default); nil when the kind has no such option.
    public func text(of name: String) -> String? { Self.text(of: name, in: options) }

    /// This choice with `name` set to `text` (nil: back to the default), checked as ``init(_:settings:)`` checks.
    public func setting(_ name: String, to text: String?) throws(OptimError) -> OptimizerChoice {
        var settings = given
        settings[name] = text
        return try OptimizerChoice(kind, settings: settings)
    }

    /// This choice with several options set (as ``setting(_:to:)`` sets one).
    public func setting(_ settings: [String: String]) throws(OptimError) -> OptimizerChoice {
        try OptimizerChoice(kind, settings: given.merging(settings) { _, new in new })
    }

    /// `kind` with the options given here that it has too (Adam's and AdamW's are the same names): for studies
    /// that train one setting under two optimizers.
    public func switched(to kind: OptimizerKind) throws(OptimError) -> OptimizerChoice {
        try OptimizerChoice(kind, settings: given.filter { kind.option(named: $0.key) != nil })
    }

    /// Builds the optimizer over `parameters`; with `rule`, the parameters it excludes get no weight decay (a
    /// second group). The options are not parsed again.
    /// - Throws: the optimizer's error for parameters it refuses (one in two groups, …).
    public func makeOptimizer(
        _ parameters: [Parameter], excludingFromDecay rule: WeightDecayRule? = nil
    ) throws(OptimError) -> any Optimizer {
        try Self.make(kind.rule, options, parameters, rule)
    }

    // MARK: - Opening the kind's options type

    private static func parse<Rule: UpdateRule>(
        _ rule: Rule.Type, _ settings: [String: String]
    ) throws(OptimError) -> (any OptimizerOptions, [String: String]) {
        let options = try OptimizerKind.options(of: rule, settings: settings)
        var given: [String: String] = [:]
        for name in settings.keys { given[name] = Rule.Options.field(named: name)?.text(of: options) }
        return (options, given)
    }

    private static func text<Options: OptimizerOptions>(of name: String, in options: Options) -> String? {
        Options.field(named: name)?.text(of: options)
    }

    private static func make<Rule: UpdateRule>(
        _ rule: Rule.Type, _ options: any OptimizerOptions, _ parameters: [Parameter], _ decayRule: WeightDecayRule?
    ) throws(OptimError) -> any Optimizer {
        // Every initializer stores the kind's own options type: another is a bug here, not a user's error.
        guard let defaults = options as? Rule.Options else { preconditionFailure("options of another optimizer") }
        let groups: [ParamGroup<Rule.Options>] = decayRule.map { $0.groups(parameters) }
            ?? [ParamGroup(params: parameters)]
        return try RuleOptimizer<Rule>(groups: groups, defaults: defaults)
    }
}

extension UpdateRule {
    /// ``defaults``, as any options type (for code that holds a rule only as `any UpdateRule.Type`).
    static var defaultOptions: any OptimizerOptions { defaults }
}
