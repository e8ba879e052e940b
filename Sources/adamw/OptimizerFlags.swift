import ArgumentParser
import Optim

/// The optimizer options of `adamw train`: one flag per option that any optimizer declares, named after it
/// (`weight_decay` is `--weight-decay`).
///
/// Each property here is the one place a flag is stated. Its help comes from the optimizers' declarations (with
/// each optimizer's default), which optimizers it applies to is read from them, and the values given are saved
/// in a run's options by PyTorch's name and parsed back, on `--resume`, by the same declarations.
struct OptimizerFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: Self.help("lr", extra: "onecycle's peak"))
    var lr: Double?

    @Option(parsing: .unconditional, help: Self.help("betas"))
    var betas: String?

    @Option(parsing: .unconditional, help: Self.help("eps"))
    var eps: Double?

    @Option(parsing: .unconditional, help: Self.help("weight_decay"))
    var weightDecay: Double?

    @Flag(help: Self.help("amsgrad"))
    var amsgrad = false

    @Flag(help: Self.help("maximize"))
    var maximize = false

    @Flag(help: Self.help("decoupled_weight_decay"))
    var decoupledWeightDecay = false

    @Option(help: Self.help("decay_convention"))
    var decayConvention: WeightDecayConvention?

    @Option(parsing: .unconditional, help: Self.help("momentum"))
    var momentum: Double?

    @Option(parsing: .unconditional, help: Self.help("dampening"))
    var dampening: Double?

    @Flag(help: Self.help("nesterov"))
    var nesterov = false

    @Option(parsing: .unconditional, help: Self.help("alpha"))
    var alpha: Double?

    @Flag(help: Self.help("centered"))
    var centered = false

    @Option(parsing: .unconditional, help: Self.help("lr_decay"))
    var lrDecay: Double?

    @Option(parsing: .unconditional, help: Self.help("initial_accumulator_value"))
    var initialAccumulatorValue: Double?

    @Option(help: Self.help("decay_to"))
    var decayTo: WeightDecayTarget?

    @Option(help: Self.help("states", extra: "allowed with --resume: the state is converted"))
    var states: StateStorage?

    @Option(parsing: .unconditional,
            help: Self.help("warmup_steps", extra: "adamw train's warmup-cosine: 5% of the schedule; adamw gpt: --warmup"))
    var warmupSteps: Int?

    @Option(parsing: .unconditional, help: Self.help("r"))
    var r: Double?

    @Option(parsing: .unconditional, help: Self.help("weight_lr_power"))
    var weightLRPower: Double?

    /// The options given, by PyTorch's name, as text (a switch that is on reads "true").
    var given: [String: String] {
        var given: [String: String] = [:]
        for child in Mirror(reflecting: self).children {
            guard let label = child.label, let text = Self.text(of: child.value) else { continue }
            given[Self.optionName(ofProperty: label)] = text
        }
        return given
    }

    /// The options that may be given with --resume: how the state is stored is not part of the run (a state
    /// saved in one storage resumes converted to another).
    static let resumable = Set(OptimizerKind.allCases.compactMap { $0.storageOption?.name })

    /// The flag of an option: `weight_decay` → `--weight-decay`.
    static func flag(_ name: String) -> String { "--" + name.replacingOccurrences(of: "_", with: "-") }

    /// `kind` with the options given, over `defaults` (a recipe's own, those `kind` has), each checked: one it
    /// does not have, text that does not parse, or a value it refuses is a one-line error naming the flag. The
    /// one place the flags' text becomes typed options.
    func choice(for kind: OptimizerKind, over defaults: [String: String] = [:]) throws -> OptimizerChoice {
        let given = given
        for name in given.keys.sorted() {
            guard let option = kind.option(named: name) else {
                let owners = OptimizerKind.allCases.filter { $0.option(named: name) != nil }.map(\.rawValue)
                throw ValidationError("\(Self.flag(name)) applies only to --optimizer \(listed(owners))")
            }
            if let required = option.requires, (given[required] ?? kind.option(named: required)?.defaultText) != "true" {
                let owners = OptimizerKind.allCases.filter { $0.option(named: required)?.defaultText == "true" }
                    .map(\.rawValue)
                throw ValidationError("\(Self.flag(name)) applies only to --optimizer \(listed(owners)) "
                                      + "(or with \(Self.flag(required)))")
            }
        }
        let choice: OptimizerChoice
        do {
            let own = defaults.filter { kind.option(named: $0.key) != nil }
            choice = try OptimizerChoice(kind, settings: own.merging(given) { _, flag in flag })
        } catch {
            throw Self.validationError(error)
        }
        // A reference point with nothing pulling toward it is a mistake, not a choice.
        if let target = given["decay_to"], target != WeightDecayTarget.zero.rawValue, choice.weightDecay == 0 {
            throw ValidationError("--decay-to \(target) needs weight decay: the weight decay of --optimizer "
                                  + "\(kind.rawValue) is 0 here (give --weight-decay)")
        }
        return choice
    }

    /// `body`'s value, for options a command sets from its own flags (a study's --lr): the optimizer's refusal
    /// is one line naming the flag, as ``choice(for:over:)``'s.
    static func naming<Value>(_ body: () throws -> Value) throws -> Value {
        do {
            return try body()
        } catch let error as OptimError {
            throw validationError(error)
        }
    }

    /// An optimizer's refusal of a value, as one line that starts with the flag at fault.
    static func validationError(_ error: OptimError) -> ValidationError {
        if case .unreadableOption(let name, let text, let expected) = error {
            return ValidationError("\(flag(name)) must be \(expected), got '\(text)'")
        }
        return ValidationError(error.optionName.map { "\(flag($0)): \(error)" } ?? "\(error)")
    }

    /// Every option some optimizer declares, by name, with the help for its flag: one line, then each
    /// optimizer's default.
    static func help(_ name: String, extra: String? = nil) -> ArgumentHelp {
        let owners = OptimizerKind.allCases.compactMap { kind in kind.option(named: name).map { (kind, $0) } }
        let text = owners.first?.1.help ?? name
        let defaults = owners.map { kind, option in "\(kind.rawValue) \(option.defaultText)" }.joined(separator: ", ")
        let note = extra.map { "; \($0)" } ?? ""
        return ArgumentHelp(owners.first?.1.isFlag == true
            ? "\(text) (\(owners.map(\.0.rawValue).joined(separator: ", ")))"
            : "\(text) (default: \(defaults)\(note))")
    }

    /// `weightDecay` → `weight_decay`, `weightLRPower` → `weight_lr_power` (a run of capitals is one word, as
    /// the flag's name has it); a property wrapper's storage is `_weightDecay`.
    static func optionName(ofProperty label: String) -> String {
        let characters = Array(label.drop(while: { $0 == "_" }))
        var name = ""
        for (index, character) in characters.enumerated() {
            let previous = index > 0 ? characters[index - 1] : nil
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            if character.isUppercase, let previous,
               previous.isLowercase || (previous.isUppercase && next?.isLowercase == true) {
                name += "_"
            }
            name += character.lowercased()
        }
        return name
    }

    /// The value of a parsed option or flag as an option's text, or nil when it was not given.
    private static func text(of value: Any) -> String? {
        switch value {
        case let option as Option<Double?>: option.wrappedValue.map { String($0) }
        case let option as Option<Int?>: option.wrappedValue.map { String($0) }
        case let option as Option<String?>: option.wrappedValue
        case let option as Option<WeightDecayConvention?>: option.wrappedValue?.rawValue
        case let option as Option<StateStorage?>: option.wrappedValue?.rawValue
        case let option as Option<WeightDecayTarget?>: option.wrappedValue?.rawValue
        case let flag as Flag<Bool>: flag.wrappedValue ? "true" : nil
        default: nil
        }
    }
}

/// "a", "a or b", "a, b or c".
func listed(_ items: [String]) -> String {
    guard items.count > 1, let last = items.last else { return items.first ?? "" }
    return items.dropLast().joined(separator: ", ") + " or " + last
}

extension WeightDecayConvention: ExpressibleByArgument {}
extension StateStorage: ExpressibleByArgument {}
extension WeightDecayTarget: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
