/// A list of parameters with their own options, like an entry of PyTorch's `param_groups`.
///
/// A group holds its optimizer's options type (``AdamOptions`` for Adam and AdamW, ``SGDOptions``, …). A group
/// the user builds records which options it sets (``overrides``); when it is added to an optimizer, the others
/// are taken from the optimizer's defaults, so the optimizer's ``RuleOptimizer/paramGroups`` show the effective
/// values. Options read and write as properties of the group:
///
/// ```swift
/// var biases = ParamGroup<AdamOptions>(params: biasParams, weightDecay: 0)
/// biases.betas = (0.9, 0.95)                      // recorded as an override
/// let optimizer = try AdamW([ParamGroup(params: weights), biases], lr: 1e-3)
/// optimizer.paramGroups[1].lr = 5e-4             // between steps, as a scheduler does
/// ```
@dynamicMemberLookup
public struct ParamGroup<Options: OptimizerOptions> {
    public var params: [Parameter]
    /// The options: effective values once the group belongs to an optimizer; before that, the values set, with
    /// the rest at the options type's defaults (see ``overrides``).
    public var options: Options
    /// The names (PyTorch's) of the options set on this group rather than taken from an optimizer's defaults.
    public private(set) var overrides: Set<String>
    /// The learning rate the schedule multiplies (PyTorch's `initial_lr`): the group's `lr` when it was added to
    /// an optimizer, unless given. ``WeightDecayConvention/scheduleScaled`` decays by `lr / initialLR · λ`.
    public var initialLR: Double { didSet { initialLRGiven = true } }
    private var initialLRGiven: Bool
    /// Whether a scheduler has taken ``initialLR`` as its base (PyTorch's `setdefault("initial_lr", lr)`): the
    /// first scheduler sets it to the current `lr`, later ones keep it.
    public internal(set) var initialLRClaimed = false

    /// A group of `params` overriding the options given here (nil: the optimizer's default), and any others set
    /// by `configure` (`{ $0.eps = 1e-6 }`).
    public init(
        params: [Parameter], lr: Double? = nil, weightDecay: Double? = nil, initialLR: Double? = nil,
        configure: (inout ParamGroup) -> Void = { _ in }
    ) {
        self.params = params
        self.options = Options()
        self.overrides = []
        self.initialLR = initialLR ?? lr ?? 0
        self.initialLRGiven = initialLR != nil
        // Set by name: in this generic context `\.lr` is the protocol's key path, not the declared field's.
        if let lr {
            options.lr = lr
            overrides.insert("lr")
        }
        if let weightDecay {
            options.weightDecay = weightDecay
            overrides.insert("weight_decay")
        }
        configure(&self)
    }

    /// Reads or sets an option; setting records it in ``overrides``, in concrete and in generic code alike.
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<Options, Value>) -> Value {
        get { options[keyPath: keyPath] }
        set {
            let before = options
            options[keyPath: keyPath] = newValue
            overrides.formUnion(Self.fieldNames(setBy: keyPath, from: before, to: options))
        }
    }

    /// The fields that setting `keyPath` sets. In concrete code `\.lr` is the declared property's key path, which
    /// ``OptionField/keyPath`` holds; in code generic over the options type it is the protocol requirement's, a
    /// different key path to the same storage, so ``OptimizerOptions``' own requirements are named here, and any
    /// other setting (``OptimizerOptions/cycledMomentum``, which forwards to a field) is found by the field whose
    /// value it changed.
    static func fieldNames<Value>(setBy keyPath: WritableKeyPath<Options, Value>, from before: Options,
                                  to after: Options) -> Set<String> {
        if let field = Options.fields.first(where: { $0.keyPath == keyPath }) { return [field.name] }
        let path = keyPath as AnyKeyPath
        if path == \Options.lr as AnyKeyPath { return ["lr"] }
        if path == \Options.weightDecay as AnyKeyPath { return ["weight_decay"] }
        return Set(Options.fields.filter { $0.text(of: before) != $0.text(of: after) }.map(\.name))
    }

    /// Sets the option PyTorch calls `name` from its text (`"0.9,0.95"` for betas) and records the override.
    /// - Throws: ``OptimError/unknownOption(name:optimizer:)`` or ``OptimError/unreadableOption(name:text:expected:)``;
    ///   nothing changes then.
    public mutating func setOption(_ name: String, text: String) throws(OptimError) {
        guard let field = Options.field(named: name) else {
            throw .unknownOption(name: name, optimizer: String(describing: Options.self))
        }
        guard field.set(text, in: &options) else {
            throw .unreadableOption(name: name, text: text, expected: field.expected)
        }
        overrides.insert(name)
    }

    /// This group with every option it does not override taken from `defaults`; ``initialLR`` follows the
    /// resulting `lr` unless it was given. The result overrides every option (it is complete).
    func filled(from defaults: Options) -> ParamGroup {
        var group = self
        group.options = defaults
        for field in Options.fields where overrides.contains(field.name) {
            field.copy(from: options, to: &group.options)
        }
        if !initialLRGiven { group.initialLR = group.options.lr }
        group.overrides = Set(Options.fields.map(\.name))
        group.initialLRGiven = true
        return group
    }
}
