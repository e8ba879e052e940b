/// Every optimizer of this package by name, for code that chooses one at run time (the command line, a
/// checkpoint's saved options): each kind's options come from its rule's declaration, so a new optimizer is one
/// case here and nothing else.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case adamw, adam, sgd, rmsprop, adagrad

    /// An option as a kind declares it, without its options type: for help and messages.
    public struct Option: Sendable, Equatable {
        /// PyTorch's name, such as `weight_decay`.
        public let name: String
        public let help: String
        /// What the text must look like ("a number").
        public let expected: String
        public let isFlag: Bool
        /// The switch that must be on for this option to apply (see ``OptionField/requires``).
        public let requires: String?
        /// The optimizer's default, as text.
        public let defaultText: String
    }

    /// PyTorch's class name: `AdamW`, `Adam`, `SGD`, `RMSprop`, `Adagrad`.
    public var className: String {
        switch self {
        case .adamw: AdamWRule.name
        case .adam: AdamRule.name
        case .sgd: SGDRule.name
        case .rmsprop: RMSpropRule.name
        case .adagrad: AdagradRule.name
        }
    }

    /// The kind's options in declaration order, with its defaults.
    public var options: [Option] {
        switch self {
        case .adamw: Self.options(of: AdamWRule.self)
        case .adam: Self.options(of: AdamRule.self)
        case .sgd: Self.options(of: SGDRule.self)
        case .rmsprop: Self.options(of: RMSpropRule.self)
        case .adagrad: Self.options(of: AdagradRule.self)
        }
    }

    /// The option `name`, if this kind has it.
    public func option(named name: String) -> Option? { options.first { $0.name == name } }

    /// Builds the optimizer over `parameters`, with the options in `settings` (by PyTorch's name, as text)
    /// replacing its defaults; with `rule`, the parameters it excludes get no weight decay (a second group).
    /// - Throws: ``OptimError/unknownOption(name:optimizer:)`` for a name the kind does not have,
    ///   ``OptimError/unreadableOption(name:text:expected:)`` for text that does not parse, or the optimizer's
    ///   error for an invalid value.
    public func makeOptimizer(
        _ parameters: [Parameter], settings: [String: String] = [:], excludingFromDecay rule: WeightDecayRule? = nil
    ) throws(OptimError) -> any Optimizer {
        switch self {
        case .adamw: try Self.make(AdamWRule.self, parameters, settings, rule)
        case .adam: try Self.make(AdamRule.self, parameters, settings, rule)
        case .sgd: try Self.make(SGDRule.self, parameters, settings, rule)
        case .rmsprop: try Self.make(RMSpropRule.self, parameters, settings, rule)
        case .adagrad: try Self.make(AdagradRule.self, parameters, settings, rule)
        }
    }

    /// Checks `settings` as ``makeOptimizer(_:settings:excludingFromDecay:)`` would, without building one.
    public func validate(settings: [String: String]) throws(OptimError) {
        switch self {
        case .adamw: _ = try Self.options(of: AdamWRule.self, settings: settings)
        case .adam: _ = try Self.options(of: AdamRule.self, settings: settings)
        case .sgd: _ = try Self.options(of: SGDRule.self, settings: settings)
        case .rmsprop: _ = try Self.options(of: RMSpropRule.self, settings: settings)
        case .adagrad: _ = try Self.options(of: AdagradRule.self, settings: settings)
        }
    }

    /// The defaults of `Rule` with `settings` applied and validated.
    /// - Throws: as ``makeOptimizer(_:settings:excludingFromDecay:)``.
    public static func options<Rule: UpdateRule>(
        of rule: Rule.Type, settings: [String: String]
    ) throws(OptimError) -> Rule.Options {
        var options = Rule.defaults
        for name in settings.keys.sorted() {
            guard let field = Rule.Options.field(named: name) else {
                throw .unknownOption(name: name, optimizer: Rule.name)
            }
            let text = settings[name] ?? ""
            guard field.set(text, in: &options) else {
                throw .unreadableOption(name: name, text: text, expected: field.expected)
            }
        }
        try options.validate(initialLR: options.lr)
        try options.checkFloatRange()
        return options
    }

    private static func make<Rule: UpdateRule>(
        _ rule: Rule.Type, _ parameters: [Parameter], _ settings: [String: String], _ decayRule: WeightDecayRule?
    ) throws(OptimError) -> RuleOptimizer<Rule> {
        let defaults = try options(of: rule, settings: settings)
        let groups: [ParamGroup<Rule.Options>] = decayRule.map { $0.groups(parameters) }
            ?? [ParamGroup(params: parameters)]
        return try RuleOptimizer<Rule>(groups: groups, defaults: defaults)
    }

    private static func options<Rule: UpdateRule>(of rule: Rule.Type) -> [Option] {
        Rule.Options.fields.map { field in
            Option(name: field.name, help: field.help, expected: field.expected, isFlag: field.isFlag,
                   requires: field.requires, defaultText: field.text(of: Rule.defaults))
        }
    }
}
