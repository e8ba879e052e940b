import Foundation

/// Saving and restoring an optimizer by parameter *name*, so that a checkpoint survives a model whose parameters
/// are listed in another order.
///
/// The state holds the optimizer's type, every group's options and parameter names (`groups`, JSON), each
/// stepped parameter's step count (`state.<name>.step`) and buffers (`state.<name>.exp_avg`, `exp_avg_sq`,
/// `max_exp_avg_sq`, `momentum_buffer`), and the count of skipped steps. Doubles are written as Swift prints them,
/// which reads back to the same bits.
extension Optimizer {
    /// The options of one group as a checkpoint stores them.
    struct GroupRecord: Codable, Equatable {
        var params: [String]
        var lr, beta1, beta2, eps, weightDecay, initialLR, momentum, dampening: Double
        var amsgrad, maximize, decoupledWeightDecay, initialLRClaimed, nesterov: Bool
        var decayConvention: String
    }

    public func stateDict() -> StateDict {
        var state = StateDict()
        state.metadata["type"] = String(describing: type(of: self))
        state.metadata["skipped_steps"] = String(skippedSteps)
        let records = paramGroups.map { group in
            GroupRecord(
                params: group.params.map(\.name), lr: group.lr, beta1: group.betas.0, beta2: group.betas.1,
                eps: group.eps, weightDecay: group.weightDecay, initialLR: group.initialLR, momentum: group.momentum,
                dampening: group.dampening, amsgrad: group.amsgrad, maximize: group.maximize,
                decoupledWeightDecay: group.decoupledWeightDecay, initialLRClaimed: group.initialLRClaimed,
                nesterov: group.nesterov,
                decayConvention: group.decayConvention == .learningRateScaled ? "lr" : "schedule")
        }
        state.metadata["groups"] = Self.encode(records)
        for parameter in parameters {
            guard let own = self.state(for: parameter) else { continue }
            let prefix = "state.\(parameter.name)."
            state.metadata[prefix + "step"] = String(own.step)
            let buffers: [(String, FloatBuffer?)] = [
                ("exp_avg", own.expAvg), ("exp_avg_sq", own.expAvgSq), ("max_exp_avg_sq", own.maxExpAvgSq),
                ("momentum_buffer", own.momentumBuffer),
            ]
            for (key, buffer) in buffers {
                if let buffer { state.tensors[prefix + key] = .init(shape: parameter.shape, values: buffer) }
            }
        }
        return state
    }

    /// Restores options and state from ``stateDict()``, matching parameters by name.
    /// - Throws: ``OptimError/stateDictMismatch(_:)`` listing every problem — another optimizer type, other groups,
    ///   missing or unexpected parameter names, buffers of the wrong size, unreadable entries — and changing
    ///   nothing.
    public func load(stateDict state: StateDict) throws(OptimError) {
        var problems: [String] = []
        let type = String(describing: Swift.type(of: self))
        if state.metadata["type"] != type {
            problems.append("the checkpoint is for \(state.metadata["type"] ?? "an unknown optimizer"), not \(type)")
        }
        let records: [GroupRecord]? = state.metadata["groups"].flatMap { Self.decode($0) }
        if records == nil { problems.append("the parameter groups are missing or unreadable") }
        let byName = Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        if byName.count != parameters.count { problems.append("the optimizer's parameters do not have unique names") }
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
                if !["lr", "schedule"].contains(record.decayConvention) {
                    problems.append("group \(index) has an unknown decay convention '\(record.decayConvention)'")
                }
            }
        }
        let skipped = state.metadata["skipped_steps"].flatMap { Int($0) }
        if skipped == nil { problems.append("the count of skipped steps is missing or unreadable") }
        var restored: [(Parameter, ParameterState)] = []
        for (name, parameter) in byName.sorted(by: { $0.key < $1.key }) {
            let prefix = "state.\(name)."
            guard let stepText = state.metadata[prefix + "step"] else {
                if let orphan = Self.bufferKeys.first(where: { state.tensors[prefix + $0] != nil }) {
                    problems.append("'\(prefix + orphan)' has no step count '\(prefix)step'")
                }
                continue
            }
            guard let step = Int(stepText), step >= 0 else {
                problems.append("parameter '\(name)' has an unreadable step count '\(stepText)'")
                continue
            }
            for key in requiredStateBuffers(step: step) where state.tensors[prefix + key] == nil {
                problems.append("parameter '\(name)' has taken \(step) steps, but '\(prefix + key)' is missing")
            }
            let own = ParameterState()
            own.step = step
            for key in Self.bufferKeys {
                guard let tensor = state.tensors[prefix + key] else { continue }
                guard tensor.shape == parameter.shape, tensor.values.count == parameter.count else {
                    problems.append("'\(prefix + key)' has shape \(tensor.shape), parameter '\(name)' has \(parameter.shape)")
                    continue
                }
                switch key {
                case "exp_avg": own.expAvg = tensor.values
                case "exp_avg_sq": own.expAvgSq = tensor.values
                case "max_exp_avg_sq": own.maxExpAvgSq = tensor.values
                default: own.momentumBuffer = tensor.values
                }
            }
            restored.append((parameter, own))
        }
        let knownKeys = Set(byName.keys.flatMap { name in Self.bufferKeys.map { "state.\(name).\($0)" } })
        for key in state.tensors.keys.sorted() where !knownKeys.contains(key) {
            problems.append("the checkpoint's tensor '\(key)' belongs to no parameter")
        }
        guard problems.isEmpty, let records, let skipped else { throw .stateDictMismatch(problems) }

        for (index, record) in records.enumerated() {
            paramGroups[index].lr = record.lr
            paramGroups[index].betas = (record.beta1, record.beta2)
            paramGroups[index].eps = record.eps
            paramGroups[index].weightDecay = record.weightDecay
            paramGroups[index].initialLR = record.initialLR
            paramGroups[index].initialLRClaimed = record.initialLRClaimed
            paramGroups[index].momentum = record.momentum
            paramGroups[index].dampening = record.dampening
            paramGroups[index].amsgrad = record.amsgrad
            paramGroups[index].maximize = record.maximize
            paramGroups[index].decoupledWeightDecay = record.decoupledWeightDecay
            paramGroups[index].nesterov = record.nesterov
            paramGroups[index].decayConvention = record.decayConvention == "lr" ? .learningRateScaled : .scheduleScaled
        }
        replaceStates(restored)
        skippedSteps = skipped
    }

    /// The names of the per-parameter buffers, as PyTorch calls them.
    static let bufferKeys = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer"]

    /// Options as JSON; a non-finite option (set between steps, not yet refused by a step) is written as a string
    /// rather than failing the save.
    static func encode(_ records: [GroupRecord]) -> String {
        (try? StateJSON.encode(records)) ?? "[]"
    }

    static func decode(_ text: String) -> [GroupRecord]? {
        StateJSON.decode(from: text)
    }
}
