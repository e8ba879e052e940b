#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The mechanics every optimizer shares, around the math of its ``UpdateRule``: parameter groups completed from
/// defaults, validation, skipping parameters without a gradient, the non-finite policy, state created on the
/// first step (all of it in one contiguous `FloatArena` block), and one parallel sweep over every
/// parameter of every group per step.
///
/// `step()` is atomic with respect to errors: it checks every group and every gradient, and allocates any new
/// state, before it changes anything, so a throwing step leaves parameters and state as they were.
///
/// The sweep splits the work by elements, not by tensors: a model of many small tensors steps on every thread.
/// Each element is updated on its own, so results are bitwise the same for any thread count, and the same
/// whether parameters live in an arena or each on its own.
public final class RuleOptimizer<Rule: UpdateRule>: Optimizer {
    public typealias Options = Rule.Options

    /// The parameter groups, in order, with their effective options. Options (such as `lr`) may be changed
    /// between steps; the next step checks them again. Add a group with ``addParamGroup(_:)``, which completes it
    /// from ``defaults``: a group appended here directly is taken as it is.
    public var paramGroups: [ParamGroup<Options>]
    /// The options that groups take when they do not set their own.
    public let defaults: Options
    public var nonFiniteGradients: NonFiniteGradientPolicy = .propagate
    public internal(set) var skippedSteps = 0
    public var name: String { Rule.name }
    /// Each group's counters (see ``UpdateRule/Counters``), in group order: advanced by every step taken.
    public internal(set) var groupCounters: [Rule.Counters] = []
    /// Which value the parameters hold (see ``UpdateRule/hasModes``). An optimizer with modes starts in eval mode
    /// and refuses to step until ``train()``, as PyTorch's Schedule-Free optimizers do; one without is always in
    /// train mode.
    public internal(set) var mode: OptimizerMode = Rule.hasModes ? .eval : .train

    private var states: [ObjectIdentifier: ParameterState] = [:]
    /// The parameters of `paramGroups` as last checked for duplicates, so that a step re-checks only when the
    /// groups' membership has changed; and their states in the same order, so that a step looks none up.
    private var checkedMembership: [ObjectIdentifier] = []
    private var orderedStates: [ParameterState?] = []
    /// The groups' used-buffer masks at the last step after which every parameter had all its buffers; nil when
    /// some parameter lacks some (or the membership changed since).
    private var completeStateMasks: [UInt16]?
    /// The groups laid end to end, as a step's sweep splits them; rebuilt when the membership changes.
    private var layout = SweepLayout()

    /// Creates an optimizer over `groups`, each completed from `defaults` (the rule's, PyTorch's, unless given).
    /// - Throws: an ``OptimError`` for an empty list, an empty group, a parameter in two groups, or an invalid
    ///   option.
    public init(groups: [ParamGroup<Options>], defaults: Options = Rule.defaults) throws(OptimError) {
        precondition(Rule.stateBuffers.count <= StatePointers.capacity, "\(Rule.name) declares too many buffers")
        self.defaults = defaults
        self.paramGroups = []
        guard groups.contains(where: { !$0.params.isEmpty }) else { throw .emptyParameterList }
        try defaults.validate(initialLR: defaults.lr)
        for group in groups { try addParamGroup(group) }
    }

    /// Adds a group, completing the options it does not set from ``defaults``, like PyTorch's `add_param_group`.
    /// - Throws: ``OptimError/emptyParamGroup(index:)``, ``OptimError/parameterInSeveralGroups(name:)``, or the
    ///   error for an invalid option; nothing is added then.
    public func addParamGroup(_ group: ParamGroup<Options>) throws(OptimError) {
        let filled = group.filled(from: defaults)
        guard !filled.params.isEmpty else { throw .emptyParamGroup(index: paramGroups.count) }
        try filled.options.validate(initialLR: filled.initialLR)
        try filled.options.checkFloatRange()
        try Self.checkMembership(paramGroups + [filled])
        paramGroups.append(filled)
        groupCounters.append(Rule.Counters())
    }

    /// Makes `buffer` buffer `slot` of `parameter`'s state, creating the state if it has none.
    func install(_ buffer: StateBuffer, at slot: Int, for parameter: Parameter) {
        if let state = states[ObjectIdentifier(parameter)] {
            state.setBuffer(buffer, at: slot)
            return
        }
        let state = ParameterState(buffers: Rule.buffers)
        state.setBuffer(buffer, at: slot)
        states[ObjectIdentifier(parameter)] = state
        // A state created outside a step is not in the step's order yet: the next step rebuilds that order.
        checkedMembership = []
    }

    public var parameters: [Parameter] { paramGroups.flatMap(\.params) }

    public func state(for parameter: Parameter) -> ParameterState? {
        states[ObjectIdentifier(parameter)]
    }

    public func zeroGrad(setToNone: Bool) {
        for group in paramGroups {
            for parameter in group.params { parameter.zeroGrad(setToNone: setToNone) }
        }
    }

    public var groupSchedules: [GroupSchedule] {
        get {
            paramGroups.map { group in
                GroupSchedule(lr: group.options.lr, initialLR: group.initialLR,
                              initialLRClaimed: group.initialLRClaimed, momentum: group.options.cycledMomentum)
            }
        }
        set {
            for (index, schedule) in zip(paramGroups.indices, newValue) {
                paramGroups[index].options.lr = schedule.lr
                paramGroups[index].initialLR = schedule.initialLR
                paramGroups[index].initialLRClaimed = schedule.initialLRClaimed
                if let momentum = schedule.momentum { paramGroups[index].options.cycledMomentum = momentum }
            }
        }
    }

    // MARK: - The step

    /// Performs one optimization step over every parameter that has a gradient.
    ///
    /// A parameter whose `grad` is nil is skipped entirely: no decay, no state change, no step count.
    /// - Throws: an ``OptimError`` for an invalid option, a parameter in two groups, a gradient or value count
    ///   that differs from its parameter's, or state that cannot be allocated; nothing is changed then.
    public func step() throws(OptimError) {
        guard mode == .train else { throw .stepInEvalMode(optimizer: Rule.name) }
        // Groups appended to (or removed from) `paramGroups` directly start counting (or take their counts) here.
        if groupCounters.count != paramGroups.count {
            groupCounters = Array(groupCounters.prefix(paramGroups.count))
                + Array(repeating: Rule.Counters(), count: max(0, paramGroups.count - groupCounters.count))
        }
        if !membershipUnchanged() {
            try Self.checkMembership(paramGroups)
            checkedMembership = paramGroups.flatMap { $0.params.map(ObjectIdentifier.init) }
            orderedStates = checkedMembership.map { states[$0] }
            completeStateMasks = nil
            layout = SweepLayout(paramGroups)
        }
        let pool = ThreadPool.current
        let chunks = min(pool.threadCount, max(1, layout.total / ThreadPool.grain))
        // The checks, in the order a loop over the groups would make them: a group's options, then its
        // parameters' counts. The counts (and finiteness) are read on the chunks' threads: one pass over every
        // parameter's objects costs as much as the step of a small tensor.
        let invalidGroup = paramGroups.indices.first { index in
            (try? paramGroups[index].options.validate(initialLR: paramGroups[index].initialLR)) == nil
                || (try? paramGroups[index].options.checkFloatRange()) == nil
        }
        let checkFinite = nonFiniteGradients != .propagate
        let (badCount, nonFinite) = layout.firstFailures(chunks: chunks, pool: pool, checkFinite: checkFinite)
        if let invalidGroup, badCount.map({ layout.groupOf[$0] >= invalidGroup }) ?? true {
            let group = paramGroups[invalidGroup]
            try group.options.validate(initialLR: group.initialLR)
            try group.options.checkFloatRange()
        }
        if let badCount { try layout.parameters[badCount].checkCounts() }
        if let nonFinite {
            if nonFiniteGradients == .throw { throw .nonFiniteGradient(name: layout.parameters[nonFinite].name) }
            skippedSteps += 1
            return
        }
        let fresh = try createMissingState()
        // One chunk of at least 32K elements per thread. A parameter that falls in two chunks has its step counted
        // and its values made unique here, once; everything else runs in the rule's own (specialized) code on
        // the chunks' threads: see UpdateRule.sweep.
        var split: [Int: UnsafeMutablePointer<Float>] = [:]
        for chunk in 1..<max(chunks, 1) {
            let boundary = layout.chunk(chunk, of: chunks).lowerBound
            let position = layout.firstParameter(from: boundary)
            guard position < layout.parameters.count, layout.starts[position] < boundary, split[position] == nil,
                  layout.parameters[position].hasGradient, let state = orderedStates[position] else { continue }
            if Rule.countsSteps { state.step += 1 }
            split[position] = layout.parameters[position].valuesPointer()
        }
        for index in paramGroups.indices { Rule.advance(&groupCounters[index], options: paramGroups[index].options) }
        Rule.sweep(paramGroups, counters: groupCounters, layout: layout, states: orderedStates, fresh: fresh,
                   split: split, chunks: chunks, pool: pool)
    }

    // MARK: - Modes

    /// Puts the parameters at their train values (Schedule-Free's y), where gradients are taken; nothing for an
    /// optimizer without modes, or one in train mode already.
    public func train() { changeMode(to: .train) }

    /// Puts the parameters at their eval values (Schedule-Free's x), to evaluate, save or sample; nothing for an
    /// optimizer without modes, or one in eval mode already.
    public func eval() { changeMode(to: .eval) }

    private func changeMode(to target: OptimizerMode) {
        guard Rule.hasModes, mode != target else { return }
        for group in paramGroups {
            for parameter in group.params {
                guard let state = states[ObjectIdentifier(parameter)] else { continue }
                Rule.changeMode(to: target, options: group.options, param: parameter.valuesPointer(),
                                state: state.pointers, count: parameter.count)
            }
        }
        mode = target
    }

    /// Creates the state (and the buffers the groups' options now need) of every parameter about to step, all
    /// new buffers in one arena block, and returns the positions (in group order) of the states that are new or
    /// grew. Allocates before anything changes, so a failure leaves the optimizer as it was.
    private func createMissingState() throws(OptimError) -> Set<Int> {
        // When every parameter had all the buffers its group's options use, in its group's storage, at the last
        // check, and neither the membership nor those options have changed since, nothing can be missing: no pass
        // over the parameters.
        let masks = paramGroups.map { group in
            Rule.stateBuffers.indices.reduce(UInt16(0)) { mask, slot in
                Rule.uses(buffer: slot, options: group.options) ? mask | 1 << slot : mask
            } | UInt16(StateStorage.allCases.firstIndex(of: Rule.storage(group.options)) ?? 0) << 8
        }
        if masks == completeStateMasks { return [] }
        var wanted: [(position: Int, slot: Int, count: Int, storage: StateStorage, parameter: Parameter)] = []
        var stateless: [Int] = []
        // A state made before its parameter's first step (a decay reference given) lacks the other buffers until
        // the parameter has a gradient: the state is not complete until then.
        var partial = false
        // States whose group now asks for another storage: their buffers are re-encoded before the step.
        var restored: [(position: Int, storage: StateStorage)] = []
        // One pass finds what is missing (usually nothing: every object is touched once per step).
        var position = 0
        for group in paramGroups {
            let used = Rule.stateBuffers.indices.filter { Rule.uses(buffer: $0, options: group.options) }
            let groupStorage = Rule.storage(group.options)
            for parameter in group.params {
                defer { position += 1 }
                guard parameter.hasGradient else {
                    if let state = orderedStates[position], used.contains(where: { state.slots[$0] == nil }) { partial = true }
                    continue
                }
                let storage = groupStorage.storage(forCount: parameter.count)
                guard let state = orderedStates[position] else {
                    stateless.append(position)
                    for slot in used {
                        wanted.append((position, slot, parameter.count, Rule.buffers[slot].storage(in: storage), parameter))
                    }
                    continue
                }
                if state.storage != storage && state.slots.contains(where: { $0 != nil }) {
                    restored.append((position, storage))
                }
                for slot in used where state.slots[slot] == nil {
                    wanted.append((position, slot, parameter.count, Rule.buffers[slot].storage(in: storage), parameter))
                }
            }
        }
        // Buffer by buffer (every exp_avg, then every exp_avg_sq), each in parameter order: so each of a kernel's
        // streams runs on through the block from one tensor to the next, as through one large tensor, and the
        // hardware prefetchers never restart (interleaved, a model of 1,000-element tensors steps 30% slower).
        wanted.sort { ($0.slot, $0.position) < ($1.slot, $1.position) }
        let initial = wanted.map { $0.storage == .float32 ? Rule.initialValue(ofBuffer: $0.slot, options: defaults) : 0 }
        // Complete after this step when every parameter, with a gradient now or not, has its buffers.
        let complete = !partial && orderedStates.indices.allSatisfy { position in
            orderedStates[position] != nil || stateless.contains(position)
        } && orderedStates.count == checkedMembership.count
        guard !wanted.isEmpty || !stateless.isEmpty || !restored.isEmpty else {
            if complete { completeStateMasks = masks }
            return []
        }
        // Each buffer's words (values, bfloat16 pairs or codes), then the scales of the quantized ones, in one
        // arena block; zeros are the empty state in every storage (a zero scale decodes any code to 0).
        let scaled = wanted.indices.filter { wanted[$0].storage.isQuantized }
        let counts = wanted.map { $0.storage.codeWords(forCount: $0.count) }
            + scaled.map { wanted[$0].storage.scaleCount(forCount: wanted[$0].count) }
        let memory: [FloatBuffer]
        do {
            memory = try FloatArena.buffers(counts: counts) { index, memory in
                if index < wanted.count, Rule.buffers[wanted[index].slot].startsAsWeights {
                    // A decay reference: the parameter's value before its first step.
                    wanted[index].parameter.values.withUnsafeBufferPointer { values in _ = memory.initialize(from: values) }
                } else if index < initial.count, initial[index] != 0 {
                    memory.update(repeating: initial[index])
                }
            }
        } catch {
            throw .outOfMemory(elements: counts.reduce(0) { $0 &+ $1 })
        }
        // Conversions are computed before anything changes too.
        let conversions = restored.map { request in
            (request.position, Rule.stateBuffers.indices.compactMap { slot in
                orderedStates[request.position]?.slot(slot).map {
                    (slot, $0.converted(to: request.storage, buffer: Rule.buffers[slot]))
                }
            })
        }
        if complete { completeStateMasks = masks }
        var fresh = Set<Int>()
        for position in stateless { state(at: position) }
        for (position, buffers) in conversions {
            for (slot, buffer) in buffers { state(at: position).setBuffer(buffer, at: slot) }
        }
        var scales = [Int: FloatBuffer]()
        for (offset, index) in scaled.enumerated() { scales[index] = memory[wanted.count + offset] }
        for (index, request) in wanted.enumerated() {
            let buffer = StateBuffer(storage: request.storage,
                                     map: StateBuffer.map(for: Rule.buffers[request.slot], in: request.storage),
                                     count: request.count, words: memory[index], scales: scales[index])
            state(at: request.position).setBuffer(buffer, at: request.slot)
            fresh.insert(request.position)
        }
        return fresh
    }

    /// The state of the parameter at `position` (in group order), created if it has none.
    @discardableResult
    private func state(at position: Int) -> ParameterState {
        if let existing = orderedStates[position] { return existing }
        let created = ParameterState(buffers: Rule.buffers)
        orderedStates[position] = created
        states[checkedMembership[position]] = created
        return created
    }

    // MARK: - Membership

    /// Replaces all per-parameter state (when loading a checkpoint).
    func replaceStates(_ restored: [(Parameter, ParameterState)]) {
        states = Dictionary(uniqueKeysWithValues: restored.map { (ObjectIdentifier($0.0), $0.1) })
        orderedStates = checkedMembership.map { states[$0] }
        completeStateMasks = nil
    }

    private func membershipUnchanged() -> Bool {
        var index = 0
        for group in paramGroups {
            guard index + group.params.count <= checkedMembership.count else { return false }
            // The references' bits against the identifiers', word by word: no retain of each parameter.
            let same = group.params.withUnsafeBytes { references in
                checkedMembership.withUnsafeBytes { checked in
                    guard let ours = references.baseAddress, let theirs = checked.baseAddress else { return true }
                    return memcmp(ours, theirs + index * MemoryLayout<ObjectIdentifier>.stride, references.count) == 0
                }
            }
            guard same else { return false }
            index += group.params.count
        }
        return index == checkedMembership.count
    }

    private static func checkMembership(_ groups: [ParamGroup<Options>]) throws(OptimError) {
        var seen = Set<ObjectIdentifier>()
        for group in groups {
            for parameter in group.params where !seen.insert(ObjectIdentifier(parameter)).inserted {
                throw .parameterInSeveralGroups(name: parameter.name)
            }
        }
    }
}
