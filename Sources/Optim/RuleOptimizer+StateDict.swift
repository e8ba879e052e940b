/// Saving and restoring an optimizer by parameter *name*, so that a checkpoint survives a model whose parameters
/// are listed in another order.
///
/// The state holds the optimizer's name (`type`), the format version (`format`, 3), every group's parameter
/// names and options (`groups`, JSON, each option as the text its ``OptionField`` reads and writes, with the rule's
/// ``GroupCounters`` under `counters` when it keeps any), each stepped parameter's step count
/// (`state.<name>.step`) and buffers (`state.<name>.exp_avg`, …, with their element type), the count of skipped
/// steps, and for a rule with modes the mode (`mode`: `train` or `eval`, which values the model's parameters hold).
/// Doubles are written as Swift prints them, which reads back to the same bits.
///
/// Buffers are kept as they are stored: float32 or bfloat16 values in the parameter's shape, or quantized codes
/// (U8, one element a byte for 8-bit, two for 4-bit, the first in the high half) with their block scales
/// (`state.<name>.exp_avg.scales`, F32), the map's name (`state.<name>.exp_avg.map`) and, once per state, every
/// map used with its block size and values (`quantization_maps`, JSON); `state.<name>.storage` says which
/// (absent: float32). A state loads into an optimizer of another storage converted to it (decoded, then encoded
/// as a step stores it); within one storage, as it is.
///
/// Versions 1 (written before options were declared per optimizer: one record with every optimizer's fields) and
/// 2 (float32 buffers only) are read too, converted on loading; any other version is refused by number.
extension RuleOptimizer {
    /// The state-dict format this build writes.
    public static var stateFormat: Int { 3 }

    public func stateDict() -> StateDict {
        var state = StateDict()
        state.metadata["type"] = Rule.name
        state.metadata["format"] = String(Self.stateFormat)
        state.metadata["skipped_steps"] = String(skippedSteps)
        let records = paramGroups.indices.map { index in
            let group = paramGroups[index]
            let counters = index < groupCounters.count ? groupCounters[index] : Rule.Counters()
            return StoredGroup(params: group.params.map(\.name), options: group.options.textByName,
                               initialLR: String(group.initialLR), initialLRClaimed: group.initialLRClaimed,
                               counters: counters.textByName.isEmpty ? nil : counters.textByName)
        }
        if Rule.hasModes { state.metadata["mode"] = mode.rawValue }
        state.metadata["groups"] = (try? StateJSON.encode(records)) ?? "[]"
        var maps: [String: StoredMap] = [:]
        for parameter in parameters {
            guard let own = self.state(for: parameter) else { continue }
            let prefix = "state.\(parameter.name)."
            state.metadata[prefix + "step"] = String(own.step)
            if own.storage != .float32 { state.metadata[prefix + "storage"] = own.storage.rawValue }
            for (name, buffer) in own.buffers {
                let key = prefix + name.rawValue
                state.tensors[key] = .init(shape: Self.storedShape(buffer.storage, parameter: parameter), values: buffer.words,
                                           elementType: buffer.elementType)
                if let map = buffer.map, let scales = buffer.scales {
                    state.tensors[key + ".scales"] = .init(shape: [scales.count], values: scales)
                    state.metadata[key + ".map"] = map.name
                    maps[map.name] = StoredMap(blockSize: map.blockSize, values: map.values.map { String($0) })
                }
            }
        }
        if !maps.isEmpty { state.metadata["quantization_maps"] = (try? StateJSON.encode(maps)) ?? "{}" }
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
        var restoredGroups: [(options: Options, initialLR: Double, claimed: Bool, counters: Rule.Counters)] = []
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
        let restoredMode = Rule.hasModes ? state.metadata["mode"].flatMap(OptimizerMode.init(rawValue:)) : .train
        if restoredMode == nil {
            problems.append("the mode is '\(state.metadata["mode"] ?? "missing")', not train or eval")
        }

        var restored: [(Parameter, ParameterState, [(slot: Int, buffer: StateBuffer)])] = []
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
                problems.append("parameter '\(name)' has " + (Rule.countsSteps ? "taken \(step) steps" : "state")
                                + ", but '\(prefix)\(Rule.stateBuffers[slot])' is missing")
            }
            let storedStorage = state.metadata[prefix + "storage"].map { StateStorage(rawValue: $0) } ?? .float32
            guard let storage = storedStorage, storage.storage(forCount: parameter.count) == storage else {
                problems.append("parameter '\(name)' has a storage '\(state.metadata[prefix + "storage"] ?? "")' that "
                                + "its \(parameter.count) elements cannot have (fp32, bf16, or int8/int4 for at least "
                                + "\(StateStorage.minimumQuantizedCount) elements in whole blocks)")
                continue
            }
            var buffers: [(slot: Int, buffer: StateBuffer)] = []
            for (slot, declaration) in Rule.buffers.enumerated() {
                let key = prefix + declaration.name.rawValue
                guard let tensor = state.tensors[key] else { continue }
                if let buffer = Self.storedBuffer(tensor, key: key, buffer: declaration,
                                                  storage: declaration.storage(in: storage),
                                                  parameter: parameter, state: state, problems: &problems) {
                    buffers.append((slot, buffer))
                }
            }
            let own = ParameterState(buffers: Rule.buffers)
            own.step = step
            restored.append((parameter, own, buffers))
        }
        let knownKeys = Set(byName.keys.flatMap { name in
            Rule.stateBuffers.flatMap { ["state.\(name).\($0)", "state.\(name).\($0).scales"] }
        })
        for key in state.tensors.keys.sorted() where !knownKeys.contains(key) {
            problems.append("the checkpoint's tensor '\(key)' belongs to no parameter")
        }
        let knownMetadata = Set(["type", "format", "skipped_steps", "groups", "quantization_maps"]
            + (Rule.hasModes ? ["mode"] : [])
            + byName.keys.flatMap { name in
                ["state.\(name).step", "state.\(name).storage"] + Rule.stateBuffers.map { "state.\(name).\($0).map" }
            })
        for key in state.metadata.keys.sorted() where !knownMetadata.contains(key) {
            problems.append("the checkpoint's entry '\(key)' is not part of \(Rule.name)'s state")
        }
        if let text = state.metadata["quantization_maps"] {
            let maps: [String: StoredMap]? = StateJSON.decode(from: text)
            for (mapName, stored) in (maps ?? [:]).sorted(by: { $0.key < $1.key }) {
                let ours = QuantizationMap.all.first { $0.name == mapName }
                if ours == nil || ours?.blockSize != stored.blockSize || ours?.values.map({ String($0) }) != stored.values {
                    problems.append("the checkpoint's quantization map '\(mapName)' is not this build's")
                }
            }
            if maps == nil { problems.append("the quantization maps are unreadable") }
        }
        // The buffers are copied into one arena block, as new state is made: words, then scales.
        let sources = restored.flatMap { $0.2.map(\.buffer) }
        let copies: [FloatBuffer]
        do {
            let words = sources.map(\.words), scales = sources.compactMap(\.scales)
            copies = try FloatArena.buffers(counts: (words + scales).map(\.count)) { index, memory in
                (index < words.count ? words[index] : scales[index - words.count]).withUnsafeBufferPointer { source in
                    if let base = source.baseAddress { memory.baseAddress?.update(from: base, count: source.count) }
                }
            }
        } catch {
            problems.append("the state's buffers cannot be allocated: \(error)")
            copies = []
        }
        guard problems.isEmpty, records != nil, let skipped, let restoredMode else {
            throw StateMismatch("optimizer state", problems: problems)
        }

        // A group keeps its own storage (how this optimizer stores is not part of the run): a state saved in
        // another is converted.
        let storageField = Options.storageField
        for (index, group) in paramGroups.enumerated() where index < restoredGroups.count {
            storageField?.copy(from: group.options, to: &restoredGroups[index].options)
        }
        var nextWords = 0, nextScales = sources.count
        for (parameter, own, buffers) in restored {
            let options = groupOfParameter[parameter.name].flatMap { $0 < restoredGroups.count ? restoredGroups[$0].options : nil }
                ?? defaults
            let target = Rule.storage(options)
            for (slot, stored) in buffers {
                var scales: FloatBuffer?
                if stored.scales != nil {
                    scales = copies[nextScales]
                    nextScales += 1
                }
                let copy = StateBuffer(storage: stored.storage, map: stored.map, count: stored.count,
                                       words: copies[nextWords], scales: scales)
                nextWords += 1
                own.setBuffer(copy.converted(to: target, buffer: Rule.buffers[slot]), at: slot)
            }
        }
        for (index, group) in restoredGroups.enumerated() {
            paramGroups[index].options = group.options
            paramGroups[index].initialLR = group.initialLR
            paramGroups[index].initialLRClaimed = group.claimed
        }
        groupCounters = restoredGroups.map(\.counters)
        replaceStates(restored.map { ($0.0, $0.1) })
        skippedSteps = skipped
        mode = restoredMode
    }

    /// The shape a buffer is saved in: the parameter's for float32 and bfloat16 values, one dimension of bytes for
    /// codes.
    static func storedShape(_ storage: StateStorage, parameter: Parameter) -> [Int] {
        switch storage {
        case .float32, .bfloat16: parameter.shape
        case .int8: [parameter.count]
        case .int4: [parameter.count / 2]
        }
    }

    /// The buffer a checkpoint's tensor holds in `storage`, checked against the parameter, or nil with the
    /// reasons in `problems`.
    static func storedBuffer(
        _ tensor: StateDict.TensorData, key: String, buffer: StateBufferDeclaration, storage: StateStorage,
        parameter: Parameter, state: StateDict, problems: inout [String]
    ) -> StateBuffer? {
        let map = StateBuffer.map(for: buffer, in: storage)
        let shape = storedShape(storage, parameter: parameter), elementType = StateElementType(storage)
        guard tensor.elementType == elementType, tensor.shape == shape, tensor.isConsistent else {
            problems.append("'\(key)' is \(tensor.elementType.rawValue) of shape \(tensor.shape); parameter "
                            + "'\(parameter.name)' in \(storage.rawValue) needs \(elementType.rawValue) of shape \(shape)")
            return nil
        }
        guard let map else {
            return StateBuffer(storage: storage, map: nil, count: parameter.count, words: tensor.values, scales: nil)
        }
        let blocks = storage.scaleCount(forCount: parameter.count)
        guard let scales = state.tensors[key + ".scales"], scales.elementType == .float32, scales.shape == [blocks],
              scales.isConsistent else {
            problems.append("'\(key).scales' is missing or not F32 of shape [\(blocks)]")
            return nil
        }
        guard state.metadata[key + ".map"] == map.name else {
            problems.append("'\(key).map' is '\(state.metadata[key + ".map"] ?? "missing")', expected '\(map.name)'")
            return nil
        }
        return StateBuffer(storage: storage, map: map, count: parameter.count, words: tensor.values, scales: scales.values)
    }

    /// The groups of `state` in the current format: read as they are (versions 2 and 3) or converted (version 1).
    private static func groupRecords(_ state: StateDict, problems: inout [String]) -> [StoredGroup]? {
        let format = state.metadata["format"] ?? "1"
        guard let text = state.metadata["groups"] else {
            problems.append("the parameter groups are missing")
            return nil
        }
        switch format {
        case "2", "3":
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
            problems.append("the optimizer state is format version \(format); this build reads versions 1 to \(stateFormat)")
            return nil
        }
    }

    /// A group's options parsed and validated from `record`, or nil with the reasons in `problems`.
    private static func options(
        of record: StoredGroup, group index: Int, problems: inout [String]
    ) -> (options: Options, initialLR: Double, claimed: Bool, counters: Rule.Counters)? {
        var options = Options()
        var fine = true
        for field in Options.fields {
            guard let text = record.options[field.name] else {
                // Options declared after format 2 (Adam's `states`) keep their defaults in older states.
                if optionsAfterFormat2.contains(field.name) || field.isOmittedAtDefault { continue }
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
        guard let counters = Rule.Counters(textByName: record.counters ?? [:]) else {
            let text = (record.counters ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            problems.append("group \(index)'s counters [\(text.joined(separator: ", "))] are not \(Rule.name)'s "
                            + "(\(Rule.Counters().textByName.keys.sorted().joined(separator: ", ")))")
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
        return (options, initialLR, record.initialLRClaimed, counters)
    }
}

/// Options declared after state-dict format 2: an older state does not hold them.
let optionsAfterFormat2: Set<String> = ["states"]

/// A quantization map as a checkpoint records it: its block size and values (as Swift prints them).
struct StoredMap: Codable, Equatable {
    var blockSize: Int
    var values: [String]

    enum CodingKeys: String, CodingKey { case blockSize = "block_size", values }
}

/// The options of one group as a checkpoint stores them (formats 2 and 3).
struct StoredGroup: Codable, Equatable {
    var params: [String]
    var options: [String: String]
    var initialLR: String
    var initialLRClaimed: Bool
    /// The rule's counters (``GroupCounters/textByName``); absent for a rule that keeps none.
    var counters: [String: String]? = nil

    enum CodingKeys: String, CodingKey {
        case params, options, initialLR = "initial_lr", initialLRClaimed = "initial_lr_claimed", counters
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
