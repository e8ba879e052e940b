/// The hyperparameters of one optimizer: the value a ``ParamGroup`` holds.
///
/// An options type declares its fields once, in ``fields``, under PyTorch's names (`lr`, `betas`,
/// `weight_decay`, …), with a parser, a printer and a line of help for each. State dicts, checkpoints and the
/// command line read that table rather than restating the names, so a value read back from a file is parsed and
/// validated exactly as the same value typed as a flag. Each optimizer's defaults (PyTorch's) are its
/// ``UpdateRule/defaults``.
public protocol OptimizerOptions: Sendable {
    /// PyTorch's defaults for the optimizer these options are named after (Adam's for ``AdamOptions``).
    init()
    /// The learning rate.
    var lr: Double { get set }
    /// λ: weight decay, coupled (L2 in the gradient) or decoupled, as the optimizer defines it.
    var weightDecay: Double { get set }
    /// The momentum that a one-cycle schedule cycles (β1 for Adam, `momentum` for SGD and RMSprop), or nil when the
    /// optimizer has none. Setting it on options without one does nothing.
    var cycledMomentum: Double? { get set }
    /// Every option, under PyTorch's names, in a fixed order.
    static var fields: [OptionField<Self>] { get }
    /// Throws the ``OptimError`` naming the first invalid value. `initialLR` is the group's base learning rate
    /// (``ParamGroup/initialLR``).
    func validate(initialLR: Double) throws(OptimError)
}

extension OptimizerOptions {
    public var cycledMomentum: Double? {
        get { nil }
        set {}
    }

    /// The option that says how the state is stored, if these options have one.
    public static var storageField: OptionField<Self>? { fields.first { $0.isStorage } }

    /// The field named `name` (PyTorch's spelling), if these options have one.
    public static func field(named name: String) -> OptionField<Self>? {
        fields.first { $0.name == name }
    }

    /// Every option as text, by name: what a state dict stores (an option ``OptionField/omittedAtDefault()`` only
    /// when it is not at its default).
    public var textByName: [String: String] {
        let defaults = Self()
        return Dictionary(uniqueKeysWithValues: Self.fields.compactMap { field in
            let text = field.text(of: self)
            return field.isOmittedAtDefault && text == field.text(of: defaults) ? nil : (field.name, text)
        })
    }

    /// Throws unless every number among the options is within Float's range: the kernels compute in Float, and
    /// `lr` 1e39 is finite as a Double but infinite as a Float.
    public func checkFloatRange() throws(OptimError) {
        for field in Self.fields {
            for part in field.text(of: self).split(separator: ",") {
                guard let value = Double(part), value.isFinite else { continue }
                if !Float(value).isFinite {
                    throw .invalidOption(name: field.name, value: value,
                                         valid: "within ±3.4e38, the largest Float: the kernels compute in Float")
                }
                if value != 0 && Float(value) == 0 {
                    throw .invalidOption(name: field.name, value: value,
                                         valid: "0 or at least 1.4e-45 in size: smaller rounds to 0 in Float")
                }
            }
        }
    }

    /// Throws unless `value` is finite and >= 0.
    public static func requireNonNegative(
        _ value: Double, else error: (Double) -> OptimError
    ) throws(OptimError) {
        guard value.isFinite, value >= 0 else { throw error(value) }
    }
}

/// One option of an options type: its name, how to read and write it as text, and its help.
///
/// Values are text as a user types them (`0.001`, `0.9,0.999`, `true`, `schedule`), and Doubles are printed
/// so that they read back to the same bits: a state dict holds options as this text, and reading it back goes
/// through the same parser as a command-line flag.
public struct OptionField<Options>: @unchecked Sendable {
    /// PyTorch's name, such as `weight_decay`.
    public let name: String
    /// One line for `--help`.
    public let help: String
    /// What the text must look like, for messages: "a number", "true or false", "two numbers a,b", "lr or schedule".
    public let expected: String
    /// Whether the option is a switch (`--amsgrad`) rather than a value on the command line.
    public let isFlag: Bool
    /// The switch (by name) that must be on for this option to mean anything, if any: a decay convention
    /// applies only to decoupled weight decay. Set with ``requiring(_:)``.
    public private(set) var requires: String?
    /// Whether the option says how the state is stored (Adam's `states`) rather than what the optimizer computes:
    /// it is not part of a run, so a resume may change it and a loaded state is converted to it. Set with
    /// ``describingStorage()``.
    public private(set) var isStorage = false
    /// Whether a state dict leaves the option out at its default (an option of this package's, added after
    /// format 3, so that the states of runs that do not use it keep their bytes). Set with ``omittedAtDefault()``.
    public private(set) var isOmittedAtDefault = false
    /// The property this field reads and writes.
    public let keyPath: PartialKeyPath<Options>
    private let read: (Options) -> String
    private let write: (inout Options, String) -> Bool
    private let copy: (Options, inout Options) -> Void

    /// The option's value in `options`, as text.
    public func text(of options: Options) -> String { read(options) }

    /// Sets the option from `text`; returns false (changing nothing) when the text does not parse.
    @discardableResult
    public func set(_ text: String, in options: inout Options) -> Bool { write(&options, text) }

    /// This field, meaningful only when the switch `name` is on.
    public func requiring(_ name: String) -> OptionField {
        var field = self
        field.requires = name
        return field
    }

    /// This field, saying how the state is stored (see ``isStorage``).
    public func describingStorage() -> OptionField {
        var field = self
        field.isStorage = true
        return field
    }

    /// This field, left out of state dicts at its default (see ``isOmittedAtDefault``).
    public func omittedAtDefault() -> OptionField {
        var field = self
        field.isOmittedAtDefault = true
        return field
    }

    /// Copies this option's value from `source` into `target`.
    public func copy(from source: Options, to target: inout Options) { copy(source, &target) }

    /// A real-valued option.
    public static func number(
        _ name: String, _ keyPath: WritableKeyPath<Options, Double>, help: String
    ) -> OptionField {
        parsed(name, keyPath, help: help, expected: "a number", print: { String($0) }, parse: { Double($0) })
    }

    /// A whole-number option (Schedule-Free's `warmup_steps`): "3" or "3.0" (a whole number written as JSON's
    /// numbers often are), not "3.5".
    public static func integer(
        _ name: String, _ keyPath: WritableKeyPath<Options, Int>, help: String
    ) -> OptionField {
        parsed(name, keyPath, help: help, expected: "a whole number", print: { String($0) }, parse: { text in
            Int(text) ?? Double(text).flatMap { $0.rounded() == $0 && abs($0) < 0x1p53 ? Int($0) : nil }
        })
    }

    /// A pair of reals, written `a,b` (Adam's betas).
    public static func pair(
        _ name: String, _ keyPath: WritableKeyPath<Options, (Double, Double)>, help: String
    ) -> OptionField {
        parsed(name, keyPath, help: help, expected: "two numbers separated by a comma",
               print: { "\($0.0),\($0.1)" },
               parse: { text in
                   let parts = text.split(separator: ",", omittingEmptySubsequences: false)
                       .map { Double(String($0).trimmingWhitespace) }
                   guard parts.count == 2, let first = parts[0], let second = parts[1] else { return nil }
                   return (first, second)
               })
    }

    /// A switch, written `true` or `false`.
    public static func flag(_ name: String, _ keyPath: WritableKeyPath<Options, Bool>, help: String) -> OptionField {
        parsed(name, keyPath, help: help, expected: "true or false", isFlag: true, print: { $0 ? "true" : "false" },
               parse: { $0 == "true" ? true : $0 == "false" ? false : nil })
    }

    /// One of a fixed set of names.
    public static func choice<Value: RawRepresentable & CaseIterable>(
        _ name: String, _ keyPath: WritableKeyPath<Options, Value>, help: String
    ) -> OptionField where Value.RawValue == String {
        parsed(name, keyPath, help: help, expected: Value.allCases.map(\.rawValue).joined(separator: " or "),
               print: { $0.rawValue }, parse: { Value(rawValue: $0) })
    }

    /// The field of `keyPath` written by `print` and read by `parse` (from text without leading and trailing
    /// spaces and tabs; nil: not a value of this option).
    private static func parsed<Value>(
        _ name: String, _ keyPath: WritableKeyPath<Options, Value>, help: String, expected: String,
        isFlag: Bool = false, print: @escaping (Value) -> String, parse: @escaping (String) -> Value?
    ) -> OptionField {
        OptionField(
            name: name, help: help, expected: expected, isFlag: isFlag, keyPath: keyPath,
            read: { print($0[keyPath: keyPath]) },
            write: { options, text in
                guard let value = parse(text.trimmingWhitespace) else { return false }
                options[keyPath: keyPath] = value
                return true
            },
            copy: { source, target in target[keyPath: keyPath] = source[keyPath: keyPath] })
    }
}

extension String {
    /// The text without leading and trailing spaces and tabs.
    var trimmingWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
