import Foundation
import Optim
import TestSupport
import Testing

/// Every case of `optimizers.json`, `optimizers_rmsprop_adagrad.json` and `clip_grad_norm.json`, against PyTorch
/// 2.15, with the README's tolerance: `|ours − torch| ≤ 1e-6 + 1e-5·|torch|` for every element of every step and
/// of the final state. Options are set by PyTorch's names through each optimizer's declared fields, so an option
/// the declarations lack, or spell differently, fails the case, as does any other key the test does not read.
struct PyTorchParityTests {
    static let atol = 1e-6, rtol = 1e-5

    /// The kernels' paths the parity suites run on: the detected one, and forced AVX2 and generic where this CPU
    /// runs them (generic rounds each multiply-add twice: the other family of bits).
    static let paths = Array(Set([CPUPath.detected, .avx2, .generic].filter(\.isSupported))).sorted { $0.rawValue < $1.rawValue }

    @Test(arguments: ["optimizers.json", "optimizers_rmsprop_adagrad.json"], paths)
    func optimizersMatchPyTorchOnEveryReferenceCase(_ file: String, _ path: CPUPath) throws {
        try CPUPath.$forced.withValue(path) { try matchEveryReferenceCase(file) }
    }

    func matchEveryReferenceCase(_ file: String) throws {
        let cases = try Fixtures.cases(file)
        #expect(!cases.isEmpty)
        for referenceCase in cases {
            let name = (referenceCase["name"] as? String) ?? "unnamed"
            do {
                try runOptimizerCase(referenceCase, name: name, in: "\(file) case '\(name)'")
            } catch {
                Issue.record("case \(name) could not be run: \(error)")
            }
        }
    }

    @Test func clipGradNormMatchesPyTorchOnEveryReferenceCase() throws {
        let cases = try Fixtures.cases("clip_grad_norm.json")
        for (index, referenceCase) in cases.enumerated() {
            do {
                try rejectUnknownKeys(of: referenceCase, understood: ["grads", "max_norm", "norm_type", "total_norm", "clipped"],
                                      in: "clip_grad_norm.json case \(index)")
                let grads = try (referenceCase.value("grads") as [Any]).map(floats)
                let params = try grads.enumerated().map { i, g in
                    let parameter = try Parameter(name: "p\(i)", shape: [g.count])
                    parameter.grad = FloatBuffer(g)
                    return parameter
                }
                let total = try clipGradNorm(
                    params, maxNorm: referenceCase.double("max_norm"), normType: referenceCase.double("norm_type"))
                let expectedTotal = Float(try referenceCase.double("total_norm"))
                #expect(firstMismatch([total], [expectedTotal], atol: Self.atol, rtol: Self.rtol) == nil,
                        "case \(index): total norm \(total) vs \(expectedTotal)")
                let clipped = try (referenceCase.value("clipped") as [Any]).map(floats)
                guard clipped.count == params.count else { throw FixtureError("\(clipped.count) clipped gradients") }
                for (parameter, expected) in zip(params, clipped) {
                    let mismatch = firstMismatch(parameter.grad!.array, expected, atol: Self.atol, rtol: Self.rtol)
                    #expect(mismatch == nil, "case \(index), \(parameter.name): \(mismatch ?? "")")
                }
            } catch {
                Issue.record("clip case \(index) could not be run: \(error)")
            }
        }
    }

    /// An lr change at a step the case does not take, or under a key that is not a step, is reported.
    @Test func lrChangesOutsideTheStepsAreReported() {
        let changes: [String: [Double]] = ["0": [0.1], "4": [0.2], "9": [0.3], "04": [0.4], "x": [0.5]]
        #expect(unknownStepKeys(changes, steps: 5, path: "lr_changes.") == ["lr_changes.04", "lr_changes.9", "lr_changes.x"])
    }

    /// `context` names the file and the case in a failure.
    private func runOptimizerCase(_ c: [String: Any], name: String, in context: String) throws {
        switch try c.value("optimizer", as: String.self) {
        case "AdamW": try runOptimizerCase(c, name: name, rule: AdamWRule.self, in: context)
        case "Adam": try runOptimizerCase(c, name: name, rule: AdamRule.self, in: context)
        case "SGD": try runOptimizerCase(c, name: name, rule: SGDRule.self, in: context)
        case "RMSprop": try runOptimizerCase(c, name: name, rule: RMSpropRule.self, in: context)
        case "Adagrad": try runOptimizerCase(c, name: name, rule: AdagradRule.self, in: context)
        case let other: throw FixtureError("unknown optimizer '\(other)'")
        }
    }

    /// The keys of a case the test reads; `defaults` and each group's `options` are read through the optimizer's
    /// declared options, and `final_state` through its state buffers.
    static let caseKeys: Set<String> = ["name", "optimizer", "defaults", "groups", "shapes", "initial", "lr_changes",
                                        "grads", "expected", "final_state"]

    private func runOptimizerCase<Rule: UpdateRule>(
        _ c: [String: Any], name: String, rule: Rule.Type, in context: String
    ) throws {
        try rejectUnknownKeys(of: c, understood: Self.caseKeys, in: context)
        let (optimizer, params) = try Self.optimizer(of: c, rule: Rule.self, context: context)
        let expected: [[Any]] = try c.value("expected")
        let steps = try Self.steps(of: c, expected: expected, context: context)

        for step in 0..<steps {
            try Self.prepare(step: step, of: c, optimizer: optimizer, params: params, expected: expected)
            try optimizer.step()
            for (i, parameter) in params.enumerated() {
                let mismatch = firstMismatch(parameter.values.array, try floats(expected[step][i]),
                                             atol: Self.atol, rtol: Self.rtol)
                #expect(mismatch == nil, "\(name) step \(step) param \(i): \(mismatch ?? "")")
            }
        }

        let finalState: [[String: Any]] = try c.value("final_state")
        guard finalState.count == params.count else { throw FixtureError("final_state has \(finalState.count) entries") }
        for (i, parameter) in params.enumerated() {
            let reference = finalState[i]
            guard let state = optimizer.state(for: parameter) else {
                // Never stepped: no state here. PyTorch's Adagrad holds one from the start: step 0 and the
                // initial accumulator value, which is what a first step here starts from.
                let unstepped: Set<String> = Rule.Options.field(named: "initial_accumulator_value") == nil ? ["step"] : ["step", "sum"]
                try rejectUnknownKeys(of: reference, understood: unstepped, path: "final_state[\(i)].", in: context)
                let step = reference["step"] == nil ? 0 : try reference.double("step")
                #expect(step == 0, "\(name) param \(i) has no state but PyTorch took \(step) steps")
                if reference["sum"] != nil, let group = optimizer.paramGroups.first(where: { $0.params.contains { $0 === parameter } }),
                   let value = Rule.Options.field(named: "initial_accumulator_value")?.text(of: group.options) {
                    #expect(try floats(reference["sum"]).allSatisfy { $0 == Float(Double(value) ?? .nan) },
                            "\(name) param \(i): PyTorch's sum is not the initial value")
                }
                continue
            }
            for key in reference.keys {
                if key == "step" {
                    #expect(Double(state.step) == (try reference.double("step")), "\(name) param \(i) step")
                    continue
                }
                guard Rule.stateBuffers.contains(StateBufferName(rawValue: key)) else {
                    throw FixtureError("\(context): unknown state key 'final_state[\(i)].\(key)'")
                }
                guard let ours = state[StateBufferName(rawValue: key)] else {
                    Issue.record("\(name) param \(i): no \(key)")
                    continue
                }
                let mismatch = firstMismatch(ours.array, try floats(reference[key]), atol: Self.atol, rtol: Self.rtol)
                #expect(mismatch == nil, "\(name) param \(i) \(key): \(mismatch ?? "")")
            }
            let extra = state.buffers.map(\.name.rawValue).filter { reference[$0] == nil }
            #expect(extra.isEmpty, "\(name) param \(i) keeps buffers PyTorch does not: \(extra)")
        }
    }

    /// A reference case's parameters (`shapes`, `initial`) and its optimizer (`defaults`, `groups`), each option
    /// set through the rule's declared fields.
    static func optimizer<Rule: UpdateRule>(
        of c: [String: Any], rule: Rule.Type, context: String
    ) throws -> (RuleOptimizer<Rule>, [Parameter]) {
        let shapes: [[Int]] = try c.value("shapes")
        let initial = try (c.value("initial") as [Any]).map(floats)
        guard initial.count == shapes.count else { throw FixtureError("\(shapes.count) shapes, \(initial.count) initial") }
        let params = try shapes.enumerated().map { i, shape in
            try Parameter(name: "p\(i)", shape: shape, values: initial[i])
        }
        var defaults = Rule.defaults
        try setOptions(try c.value("defaults"), in: &defaults, context: context)
        let groups: [ParamGroup<Rule.Options>] = try (c.value("groups") as [[String: Any]]).enumerated().map { index, group in
            try rejectUnknownKeys(of: group, understood: ["params", "options"], path: "groups[\(index)].", in: context)
            let indices: [Int] = try group.value("params")
            var made = ParamGroup<Rule.Options>(params: try indices.map { try element(params, $0, "group params") })
            for (key, value) in try group.value("options") as [String: Any] {
                guard let field = Rule.Options.field(named: key) else {
                    throw FixtureError("\(context): unknown option 'groups[\(index)].options.\(key)'")
                }
                try made.setOption(key, text: try optionText(value, isFlag: field.isFlag, name: key))
            }
            return made
        }
        return (try RuleOptimizer<Rule>(groups: groups, defaults: defaults), params)
    }

    /// The number of steps of a case whose `grads` and `expected` (values after each step) must agree, with its
    /// `lr_changes` checked to fall on those steps.
    static func steps(of c: [String: Any], expected: [[Any]], context: String) throws -> Int {
        let grads: [[Any]] = try c.value("grads")
        guard grads.count == expected.count, !grads.isEmpty else { throw FixtureError("grads and expected differ") }
        try rejectUnknownKeys(unknownStepKeys(try lrChanges(of: c), steps: grads.count, path: "lr_changes."), in: context)
        return grads.count
    }

    /// Before step `step` of a case: its `lr_changes` set on the groups, and its gradients (`null`: none) on the
    /// parameters.
    static func prepare<Rule: UpdateRule>(
        step: Int, of c: [String: Any], optimizer: RuleOptimizer<Rule>, params: [Parameter], expected: [[Any]]
    ) throws {
        if let lrs = try lrChanges(of: c)[String(step)] {
            guard lrs.count == optimizer.paramGroups.count else { throw FixtureError("lr_changes count") }
            for (g, lr) in lrs.enumerated() { optimizer.paramGroups[g].lr = lr.doubleValue }
        }
        let grads: [Any] = try (c.value("grads") as [[Any]])[step]
        guard grads.count == params.count, expected[step].count == params.count else {
            throw FixtureError("step \(step) has \(grads.count) grads, \(expected[step].count) expected")
        }
        for (i, parameter) in params.enumerated() {
            parameter.grad = grads[i] is NSNull ? nil : FloatBuffer(try floats(grads[i]))
        }
    }

    private static func lrChanges(of c: [String: Any]) throws -> [String: [NSNumber]] {
        c["lr_changes"] == nil ? [:] : try c.value("lr_changes")
    }

    /// Sets each of `values` (PyTorch's names and JSON values) on `options` through its declared field.
    private static func setOptions<Options: OptimizerOptions>(
        _ values: [String: Any], in options: inout Options, context: String
    ) throws {
        for (key, value) in values {
            guard let field = Options.field(named: key) else {
                throw FixtureError("\(context): unknown option 'defaults.\(key)'")
            }
            let text = try optionText(value, isFlag: field.isFlag, name: key)
            guard field.set(text, in: &options) else { throw FixtureError("option '\(key)' does not take '\(text)'") }
        }
    }
}
