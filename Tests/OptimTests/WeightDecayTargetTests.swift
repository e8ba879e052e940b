import Foundation
import Kernels
import Optim
import TestSupport
import Testing

/// Decay toward a reference point (`decay_to`): AdamW against PyTorch on every case of `decay_to_reference.json`,
/// a reference of zeros bitwise plain Adam and AdamW on `optimizers.json`, the reference as state (saved, resumed,
/// converted with the moments), thread counts, and refusals.
struct WeightDecayTargetTests {
    static let caseKeys: Set<String> = ["name", "shapes", "options", "initial", "reference_values", "grads", "expected"]

    @Test(arguments: PyTorchParityTests.paths)
    func adamWMatchesPyTorchOnEveryReferenceCase(_ path: CPUPath) throws {
        let cases = try Fixtures.cases("decay_to_reference.json")
        #expect(!cases.isEmpty)
        for referenceCase in cases {
            let name = (referenceCase["name"] as? String) ?? "unnamed"
            do {
                try CPUPath.$forced.withValue(path) { try runCase(referenceCase, name: name) }
            } catch {
                Issue.record("case \(name) could not be run: \(error)")
            }
        }
    }

    private func runCase(_ c: [String: Any], name: String) throws {
        let context = "decay_to_reference.json case '\(name)'"
        try rejectUnknownKeys(of: c, understood: Self.caseKeys, in: context)
        let shapes: [[Int]] = try c.value("shapes")
        let initial = try (c.value("initial") as [Any]).map(floats)
        let references = try (c.value("reference_values") as [Any]).map(floats)
        guard initial.count == shapes.count, references.count == shapes.count else {
            throw FixtureError("\(context): \(shapes.count) shapes, \(initial.count) initial, \(references.count) references")
        }
        let params = try shapes.enumerated().map { i, shape in try Parameter(name: "p\(i)", shape: shape, values: initial[i]) }
        // Every option through AdamW's declared fields; `reference` says where θ_ref comes from.
        var options = AdamWRule.defaults
        options.decayTo = .initial
        var given = false
        for (key, value) in try c.value("options") as [String: Any] {
            if key == "reference" {
                switch value as? String {
                case "initial": given = false
                case "given": given = true
                default: throw FixtureError("\(context): unknown options.reference '\(value)'")
                }
                continue
            }
            guard let field = AdamOptions.field(named: key) else { throw FixtureError("\(context): unknown option '\(key)'") }
            guard field.set(try optionText(value, isFlag: field.isFlag, name: key), in: &options) else {
                throw FixtureError("\(context): option '\(key)' does not take \(value)")
            }
        }
        let optimizer = try AdamW(groups: [ParamGroup(params: params)], defaults: options)
        if given {
            for (parameter, reference) in zip(params, references) {
                try optimizer.setDecayReference(FloatBuffer(reference), for: parameter)
            }
        }
        let expected: [[Any]] = try c.value("expected")
        let grads: [[Any]] = try c.value("grads")
        guard grads.count == expected.count, !grads.isEmpty else { throw FixtureError("\(context): grads and expected differ") }
        for step in grads.indices {
            guard grads[step].count == params.count, expected[step].count == params.count else {
                throw FixtureError("\(context): step \(step) counts")
            }
            for (i, parameter) in params.enumerated() {
                parameter.grad = grads[step][i] is NSNull ? nil : FloatBuffer(try floats(grads[step][i]))
            }
            try optimizer.step()
            for (i, parameter) in params.enumerated() {
                let mismatch = firstMismatch(parameter.values.array, try floats(expected[step][i]),
                                             atol: PyTorchParityTests.atol, rtol: PyTorchParityTests.rtol)
                #expect(mismatch == nil, "\(name) step \(step) param \(i): \(mismatch ?? "")")
            }
        }
        // The reference kept is the one the case names, bit for bit: the initial values, or those given.
        for (i, parameter) in params.enumerated() {
            #expect(optimizer.state(for: parameter)?[.decayReference]?.array == references[i], "\(name) param \(i) reference")
        }
    }

    /// A reference of zeros is decay toward zero: every Adam and AdamW case of `optimizers.json` (coupled and
    /// decoupled, amsgrad, maximize, lr changes, missing gradients) steps to the same values through the reference's
    /// pass as without it.
    @Test func aReferenceOfZerosStepsAsPlainAdamAndAdamW() throws {
        var compared = 0
        for c in try Fixtures.cases("optimizers.json") {
            switch c["optimizer"] as? String {
            case "AdamW": try compareWithZeroReference(c, rule: AdamWRule.self)
            case "Adam": try compareWithZeroReference(c, rule: AdamRule.self)
            default: continue
            }
            compared += 1
        }
        #expect(compared >= 4)
    }

    private func compareWithZeroReference<Rule: UpdateRule>(_ c: [String: Any], rule: Rule.Type) throws
        where Rule.Options == AdamOptions
    {
        let name = (c["name"] as? String) ?? "unnamed"
        let (plain, plainParams) = try PyTorchParityTests.optimizer(of: c, rule: Rule.self, context: name)
        let (toward, towardParams) = try PyTorchParityTests.optimizer(of: c, rule: Rule.self, context: name)
        for index in toward.paramGroups.indices { toward.paramGroups[index].decayTo = .initial }
        // A group without weight decay keeps no reference (and takes none).
        for group in toward.paramGroups where group.weightDecay != 0 {
            for parameter in group.params { try toward.setDecayReference(FloatBuffer(count: parameter.count), for: parameter) }
        }
        let expected: [[Any]] = try c.value("expected")
        for step in 0..<(try PyTorchParityTests.steps(of: c, expected: expected, context: name)) {
            try PyTorchParityTests.prepare(step: step, of: c, optimizer: plain, params: plainParams, expected: expected)
            try PyTorchParityTests.prepare(step: step, of: c, optimizer: toward, params: towardParams, expected: expected)
            try plain.step()
            try toward.step()
            #expect(plainParams.map(\.values.array) == towardParams.map(\.values.array), "\(name) step \(step)")
        }
    }

    static func trajectory(
        _ options: AdamOptions, threads: Int, resumeAt: Int? = nil, steps: Int = 4
    ) throws -> (values: [[Float]], state: StateDict) {
        var random = TestRandom(seed: 29)
        // A tensor not of whole blocks (float32 in any storage), one of whole 8-bit blocks, a small one, and one of
        // whole blocks that two threads split inside a block (at its element 8,531 of 98,304).
        let shapes = [[300, 257], [4096], [33], [96, 1024]]
        let initial = shapes.map { random.floats($0.reduce(1, *)) }
        func parameters() throws -> [Parameter] {
            try zip(shapes.indices, shapes).map { i, shape in try Parameter(name: "p\(i)", shape: shape, values: initial[i]) }
        }
        var params = try parameters()
        var optimizer = try AdamW(groups: [ParamGroup(params: params)], defaults: options)
        let pool = try ThreadPool(threadCount: threads)
        var gradientStream = TestRandom(seed: 31)
        for step in 0..<steps {
            if step == resumeAt {
                // A new optimizer over new parameters that continues from the saved state.
                let saved = try optimizer.stateDict(), values = params.map(\.values)
                params = try parameters()
                for (parameter, value) in zip(params, values) { parameter.values = value }
                optimizer = try AdamW(groups: [ParamGroup(params: params)], defaults: options)
                try optimizer.load(stateDict: saved)
            }
            for parameter in params { parameter.grad = FloatBuffer(gradientStream.floats(parameter.count)) }
            try ThreadPool.$current.withValue(pool) { try optimizer.step() }
        }
        return (params.map(\.values.array), try optimizer.stateDict())
    }

    static func options(decoupled: Bool, storage: StateStorage) -> AdamOptions {
        var options = AdamOptions()
        (options.lr, options.weightDecay, options.decayTo, options.states) = (0.01, 0.3, .initial, storage)
        options.decoupledWeightDecay = decoupled
        return options
    }

    /// On 1 and 2 threads, straight or resumed mid-run from a state dict, in every storage, decoupled and coupled:
    /// the same bits, and the state holds the reference.
    @Test(arguments: [StateStorage.float32, .bfloat16, .int8, .int4], [true, false])
    func theReferenceIsStateThatResumesAndSplitsBitExactly(_ storage: StateStorage, _ decoupled: Bool) throws {
        let options = Self.options(decoupled: decoupled, storage: storage)
        let straight = try Self.trajectory(options, threads: 1)
        let twoThreads = try Self.trajectory(options, threads: 2)
        let resumed = try Self.trajectory(options, threads: 2, resumeAt: 2)
        #expect(straight.values == twoThreads.values && straight.values == resumed.values)
        #expect(straight.state == resumed.state)
        #expect(straight.state.tensors["state.p0.decay_reference"]?.shape == [300, 257])
        #expect(straight.state.tensors["state.p3.decay_reference"]?.shape == [96, 1024])
        #expect(straight.state.metadata["groups"]?.contains(#""decay_to":"initial""#) == true)
        // It decays toward the start: the same run decaying toward zero ends elsewhere.
        var towardZero = options
        towardZero.decayTo = .zero
        let plain = try Self.trajectory(towardZero, threads: 1)
        #expect(plain.values != straight.values)
        #expect(plain.state.metadata["groups"]?.contains("decay_to") == false, "a state decaying toward zero keeps its bytes")
    }

    @Test func aReferenceTheOptimizerCannotTakeIsRefusedInOneLine() throws {
        let weight = try Parameter(name: "w", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let bias = try Parameter(name: "b", shape: [3], values: [1, 2, 3])
        let stranger = try Parameter(name: "x", shape: [1], values: [0])
        let optimizer = try AdamW([ParamGroup(params: [weight]) { $0.decayTo = .initial }, ParamGroup(params: [bias])])
        #expect(throws: OptimError.decayReferenceMismatch(name: "w", shape: [2, 3], count: 5)) {
            try optimizer.setDecayReference([1, 2, 3, 4, 5], for: weight)
        }
        #expect(throws: OptimError.noDecayReference(name: "b", reason: "its group decays toward zero (decay_to zero)")) {
            try optimizer.setDecayReference([0, 0, 0], for: bias)
        }
        #expect(throws: OptimError.noDecayReference(name: "x", reason: "the optimizer does not hold it")) {
            try optimizer.setDecayReference([0], for: stranger)
        }
        #expect("\(OptimError.decayReferenceMismatch(name: "w", shape: [2, 3], count: 5))"
                == "the decay reference of parameter 'w' has 5 values; the parameter has shape [2, 3] (6 values)")
        #expect(throws: OptimError.unreadableOption(name: "decay_to", text: "pretrained", expected: "zero or initial")) {
            try OptimizerChoice(.adamw, settings: ["decay_to": "pretrained"])
        }
    }
}
