/// Saving and restoring an optimizer by parameter *name*, so that a checkpoint survives a model whose parameters
/// are listed in another order.
///
/// The state holds the optimizer's name (`type`), the format version (`format`, 2), every group's parameter
/// names and options (`groups`, JSON, each option as the text its ``OptionField`` reads and writes), each stepped
/// parameter's step count (`state.<name>.step`) and buffers (`state.<name>.exp_avg`, …, with their element type),
/// and the count of skipped steps. Doubles are written as Swift prints them, which reads back to the same bits.
///
/// Version 1 (written before options were declared per optimizer: one record with every optimizer's fields) is
/// read too, converted on loading; any other version is refused by number.
extension RuleOptimizer {
    /// The state-dict format this build writes.
    public static var stateFormat: Int { 2 }

    public func stateDict() -> StateDict {
        var state = StateDict()
        state.metadata["type"] = Rule.name
        state.metadata["format"] = String(Self.stateFormat)
        state.metadata["skipped_steps"] = String(skippedSteps)
        let records = paramGroups.map { group in
            StoredGroup(params: group.params.map(\.name), options: group.options.textByName,
                        initialLR: String(group.initialLR), initialLRClaimed: group.initialLRClaimed)
        }
        state.metadata["groups"] = (try? StateJSON.encode(records)) ?? "[]"
        for parameter in parameters {
            guard let own = self.state(for: parameter) else { continue }
            let prefix = "state.\(parameter.name)."
            state.metadata[prefix + "step"] = String(own.step)
            for (name, buffer) in own.buffers {
                state.tensors[prefix + name.rawValue] = .init(shape: parameter.shape, values: buffer.values,
                                                              elementType: buffer.elementType)
            }
        }
        return state
    }

    /// Restores options and state from ``stateDict()``, matching parameters by name. Every value read passes the
    /// checks an option set in code does. Buffers are copied into one new arena block.
    /// - Throws: ``StateMismatch`` listing every problem — another optimizer type or format,
    ///   other groups, missing, unreadable or invalid options, missing or unexpected parameter names, buffers of
    ///   the wrong size or type, unreadable entries — and changing nothing.
    public func load(stateDict state: StateDict) throws(StateMismatch) {
        var problems: [String] = []
        if state.metadata["type"] != Rule.name {
            problems.append("the checkpoint is for \(state.metadata["type"] ?? "an unknown optimizer"), not \(Rule.name)")
        }
        let records = Self.groupRecords(state, problems: &problems)
        let byName = Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        if byName.count != parameters.count { problems.append("the optimizer's parameters do not have unique names") }
        var restoredGroups: [(options: Options, initialLR: Double, claimed: Bool)] = []
        if let records {
            if records.count != paramGroups.count {
                problems.append("the checkpoint has \(records.count) parameter groups, the optimizer \(paramGroups.count)")
            }
            for (index, (record, group)) in zip(records, paramGroups).enumerated() {
                let names = group.params.map(\.name)
                for name in names where !record.params.contains(name) {
                    problems.append("parameter '\(name)' of group \(index) is not in the checkpoint")
                }
                for name in record.params where !names.contains(name) {
                    problems.append("the checkpoint's parameter '\(name)' is not in group \(index)")
                }
                if let restored = Self.options(of: record, group: index, problems: &problems) {
                    restoredGroups.append(restored)
                }
            }
        }
        let skipped = state.metadata["skipped_steps"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        if skipped == nil { problems.append("the count of skipped steps is missing, unreadable or negative") }

        var restored: [(Parameter, ParameterState, [(slot: Int, values: FloatBuffer)])] = []
        let groupOfParameter = Dictionary(
            paramGroups.enumerated().flatMap { index, group in group.params.map { ($0.name, index) } },
            uniquingKeysWith: { first, _ in first })
        for (name, parameter) in byName.sorted(by: { $0.key < $1.key }) {
            let prefix = "state.\(name)."
            guard let stepText = state.metadata[prefix + "step"] else {
                if let orphan = Rule.stateBuffers.first(where: { state.tensors[prefix + $0.rawValue] != nil }) {
                    problems.append("'\(prefix)\(orphan)' has no step count '\(prefix)step'")
                }
                continue
            }
            guard let step = Int(stepText), step >= 0 else {
                problems.append("parameter '\(name)' has an unreadable step count '\(stepText)'")
                continue
            }
            let options = groupOfParameter[name].flatMap { $0 < restoredGroups.count ? restoredGroups[$0].options : nil }
                ?? defaults
            for slot in Rule.requiredBuffers(step: step, options: options)
            where state.tensors[prefix + Rule.stateBuffers[slot].rawValue] == nil {
                problems.append("parameter '\(name)' has taken \(step) steps, but '\(prefix)\(Rule.stateBuffers[slot])' is missing")
            }
            var buffers: [(slot: Int, values: FloatBuffer)] = []
            for (slot, buffer) in Rule.stateBuffers.enumerated() {
                guard let tensor = state.tensors[prefix + buffer.rawValue] else { continue }
                guard tensor.shape == parameter.shape, tensor.values.count == parameter.count else {
                    problems.append("'\(prefix)\(buffer)' has shape \(tensor.shape), parameter '\(name)' has \(parameter.shape)")
                    continue
                }
                guard tensor.elementType == .float32 else {
                    problems.append("'\(prefix)\(buffer)' is stored as \(tensor.elementType.rawValue), this optimizer keeps F32")
                    continue
                }
                buffers.append((slot, tensor.values))
            }
            let own = ParameterState(names: Rule.stateBuffers)
            own.step = step
            restored.append((parameter, own, buffers))
        }
        let knownKeys = Set(byName.keys.flatMap { name in Rule.stateBuffers.map { "state.\(name).\($0)" } })
        for key in state.tensors.keys.sorted() where !knownKeys.contains(key) {
            problems.append("the checkpoint's tensor '\(key)' belongs to no parameter")
        }
        let knownMetadata = Set(["type", "format", "skipped_steps", "groups"] + byName.keys.map { "state.\($0).step" })
        for key in state.metadata.keys.sorted() where !knownMetadata.contains(key) {
            problems.append("the checkpoint's entry '\(key)' is not part of \(Rule.name)'s state")
        }
        // The buffers are copied into one arena block, as new state is made.
        let sources = restored.flatMap { $0.2.map(\.values) }
        let copies: [FloatBuffer]
        do {
            copies = try FloatArena.buffers(counts: sources.map(\.count)) { index, memory in
                sources[index].withUnsafeBufferPointer { source in
                    if let base = source.baseAddress { memory.baseAddress?.update(from: base, count: source.count) }
                }
            }
        } catch {
            problems.append("the state's buffers cannot be allocated: \(error)")
            copies = []
        }
        guard problems.isEmpty, records != nil, let skipped else { throw StateMismatch("optimizer state", problems: problems) }

        var next = 0
        for (_, own, buffers) in restored {
            for (slot, _) in buffers {
                own.setBuffer(StateBuffer(float32: copies[next]), at: slot)
                next += 1
            }
        }
        for (index, group) in restoredGroups.enumerated() {
            paramGroups[index].options = group.options
            paramGroups[index].initialLR = group.initialLR
            paramGroups[index].initialLRClaimed = group.claimed
        }
        replaceStates(restored.map { ($0.0, $0.1) })
        skippedSteps = skipped
    }

    /// The groups of `state` in the current format: read as they are (version 2) or converted (version 1).
    private static func groupRecords(_ state: StateDict, problems: inout [String]) -> [StoredGroup]? {
        let format = state.metadata["format"] ?? "1"
        guard let text = state.metadata["groups"] else {
            problems.append("the parameter groups are missing")
            return nil
        }
        switch format {
        case "2":
            guard let records = StateJSON.decode([StoredGroup].self, from: text) else {
                problems.append("the parameter groups are unreadable")
                return nil
            }
            return records
        case "1":
            guard let records = StateJSON.decode([VersionOneGroupRecord].self, from: text) else {
                problems.append("the parameter groups are unreadable (format 1)")
                return nil
            }
            return records.map { $0.converted(keeping: Set(Options.fields.map(\.name))) }
        default:
            problems.append("the optimizer state is format version \(format); this build reads versions 1 and \(stateFormat)")
            return nil
        }
    }

    /// A group's options parsed and validated from `record`, or nil with the reasons in `problems`.
    private static func options(
        of record: StoredGroup, group index: Int, problems: inout [String]
    ) -> (options: Options, initialLR: Double, claimed: Bool)? {
        var options = Options()
        var fine = true
        for field in Options.fields {
            guard let text = record.options[field.name] else {
                problems.append("group \(index) has no option '\(field.name)'")
                fine = false
                continue
            }
            if !field.set(text, in: &options) {
                problems.append("group \(index)'s option '\(field.name)' is '\(text)', not \(field.expected)")
                fine = false
            }
        }
        for name in record.options.keys.sorted() where Options.field(named: name) == nil {
            problems.append("group \(index) has an option '\(name)' that \(Rule.name) does not have")
            fine = false
        }
        guard let initialLR = Double(record.initialLR) else {
            problems.append("group \(index)'s initial_lr '\(record.initialLR)' is not a number")
            return nil
        }
        guard fine else { return nil }
        do {
            try options.validate(initialLR: initialLR)
            try options.checkFloatRange()
        } catch {
            problems.append("group \(index): \(error)")
            return nil
        }
        return (options, initialLR, record.initialLRClaimed)
    }
}

/// The options of one group as a checkpoint stores them (format 2).
struct StoredGroup: Codable, Equatable {
    var params: [String]
    var options: [String: String]
    var initialLR: String
    var initialLRClaimed: Bool

    enum CodingKeys: String, CodingKey {
        case params, options, initialLR = "initial_lr", initialLRClaimed = "initial_lr_claimed"
    }
}

/// A group as format 1 stored it: every optimizer's options in one record.
struct VersionOneGroupRecord: Codable {
    var params: [String]
    var lr, beta1, beta2, eps, weightDecay, initialLR, momentum, dampening: Double
    var amsgrad, maximize, decoupledWeightDecay, initialLRClaimed, nesterov: Bool
    var decayConvention: String

    /// The record in format 2, with the options whose names are in `names` (the loading optimizer's).
    func converted(keeping names: Set<String>) -> StoredGroup {
        let all: [String: String] = [
            "lr": String(lr), "betas": "\(beta1),\(beta2)", "eps": String(eps), "weight_decay": String(weightDecay),
            "amsgrad": String(amsgrad), "maximize": String(maximize),
            "decoupled_weight_decay": String(decoupledWeightDecay), "decay_convention": decayConvention,
            "momentum": String(momentum), "dampening": String(dampening), "nesterov": String(nesterov),
        ]
        return StoredGroup(params: params, options: all.filter { names.contains($0.key) },
                           initialLR: String(initialLR), initialLRClaimed: initialLRClaimed)
    }
}
