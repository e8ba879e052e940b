/// Every optimizer of this package by name, for code that chooses one at run time (the command line, a
/// checkpoint's saved options): each kind's options come from its rule's declaration, so a new optimizer is one
/// case here and one line in ``rule``.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case adamw, adam, sgd, rmsprop, adagrad
    case adamwScheduleFree = "adamw-schedulefree"

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
        /// Whether it says how the state is stored, not what the optimizer computes (see ``OptionField/isStorage``).
        public let isStorage: Bool
    }

    /// The kind's rule: the one place a kind is tied to its optimizer (every member below opens it).
    public var rule: any UpdateRule.Type {
        switch self {
        case .adamw: AdamWRule.self
        case .adam: AdamRule.self
        case .sgd: SGDRule.self
        case .rmsprop: RMSpropRule.self
        case .adagrad: AdagradRule.self
        case .adamwScheduleFree: AdamWScheduleFreeRule.self
        }
    }

    /// Whether the optimizer replaces the learning-rate schedule (Schedule-Free averages its iterates instead):
    /// a run with it keeps its lr, warm-up aside, and evaluates at the optimizer's eval values.
    public var replacesSchedule: Bool { self == .adamwScheduleFree }

    /// PyTorch's class name: `AdamW`, `Adam`, `SGD`, `RMSprop`, `Adagrad`, `AdamWScheduleFree`.
    public var className: String { rule.name }

    /// The kind's options in declaration order, with its defaults.
    public var options: [Option] { Self.options(of: rule) }

    /// The option that says how the state is stored, if this kind has one.
    public var storageOption: Option? { options.first { $0.isStorage } }

    /// The option `name`, if this kind has it.
    public func option(named name: String) -> Option? { options.first { $0.name == name } }

    /// Builds the optimizer over `parameters`, with the options in `settings` (by PyTorch's name, as text)
    /// replacing its defaults; with `rule`, the parameters it excludes get no weight decay (a second group).
    /// Code that keeps the choice (a run's options) holds an ``OptimizerChoice`` instead, checked once.
    /// - Throws: as ``OptimizerChoice/init(_:settings:)``, or the optimizer's error for its parameters.
    public func makeOptimizer(
        _ parameters: [Parameter], settings: [String: String] = [:], excludingFromDecay rule: WeightDecayRule? = nil
    ) throws(OptimError) -> any Optimizer {
        try OptimizerChoice(self, settings: settings).makeOptimizer(parameters, excludingFromDecay: rule)
    }

    /// The defaults of `Rule` with `settings` applied and validated.
    /// - Throws: as ``OptimizerChoice/init(_:settings:)``.
    static func options<Rule: UpdateRule>(
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

    private static func options<Rule: UpdateRule>(of rule: Rule.Type) -> [Option] {
        Rule.Options.fields.map { field in
            Option(name: field.name, help: field.help, expected: field.expected, isFlag: field.isFlag,
                   requires: field.requires, defaultText: field.text(of: Rule.defaults), isStorage: field.isStorage)
        }
    }
}
