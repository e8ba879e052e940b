import Foundation
import Optim
import TestSupport
import Testing

/// Every case of `optimizers.json`, `optimizers_rmsprop_adagrad.json` and `clip_grad_norm.json`, against PyTorch
/// 2.15, with the README's tolerance: `|ours − torch| ≤ 1e-6 + 1e-5·|torch|` for every element of every step and
/// of the final state. Options are set by PyTorch's names through each optimizer's declared fields, so an option
/// the declarations lack, or spell differently, fails the case.
struct PyTorchParityTests {
    static let atol = 1e-6, rtol = 1e-5

    @Test(arguments: ["optimizers.json", "optimizers_rmsprop_adagrad.json"])
    func optimizersMatchPyTorchOnEveryReferenceCase(_ file: String) throws {
        let cases = try Fixtures.cases(file)
        #expect(!cases.isEmpty)
        for referenceCase in cases {
            let name = (referenceCase["name"] as? String) ?? "unnamed"
            do {
                try runOptimizerCase(referenceCase, name: name)
            } catch {
                Issue.record("case \(name) could not be run: \(error)")
            }
        }
    }

    @Test func clipGradNormMatchesPyTorchOnEveryReferenceCase() throws {
        let cases = try Fixtures.cases("clip_grad_norm.json")
        for (index, referenceCase) in cases.enumerated() {
            do {
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

    private func runOptimizerCase(_ c: [String: Any], name: String) throws {
        switch try c.value("optimizer", as: String.self) {
        case "AdamW": try runOptimizerCase(c, name: name, rule: AdamWRule.self)
        case "Adam": try runOptimizerCase(c, name: name, rule: AdamRule.self)
        case "SGD": try runOptimizerCase(c, name: name, rule: SGDRule.self)
        case "RMSprop": try runOptimizerCase(c, name: name, rule: RMSpropRule.self)
        case "Adagrad": try runOptimizerCase(c, name: name, rule: AdagradRule.self)
        case let other: throw FixtureError("unknown optimizer '\(other)'")
        }
    }

    private func runOptimizerCase<Rule: UpdateRule>(_ c: [String: Any], name: String, rule: Rule.Type) throws {
        let known: Set = ["name", "optimizer", "defaults", "groups", "shapes", "initial", "lr_changes", "grads",
                          "expected", "final_state"]
        if let unknown = c.keys.first(where: { !known.contains($0) }) { throw FixtureError("unknown key '\(unknown)'") }
        let shapes: [[Int]] = try c.value("shapes")
        let initial = try (c.value("initial") as [Any]).map(floats)
        guard initial.count == shapes.count else { throw FixtureError("\(shapes.count) shapes, \(initial.count) initial") }
        let params = try shapes.enumerated().map { i, shape in
            try Parameter(name: "p\(i)", shape: shape, values: initial[i])
        }
        var defaults = Rule.defaults
        try setOptions(try c.value("defaults"), in: &defaults)
        let groups: [ParamGroup<Rule.Options>] = try (c.value("groups") as [[String: Any]]).map { group in
            let indices: [Int] = try group.value("params")
            var made = ParamGroup<Rule.Options>(params: try indices.map { try element(params, $0, "group params") })
            for (key, value) in try group.value("options") as [String: Any] {
                guard let field = Rule.Options.field(named: key) else { throw FixtureError("unknown option '\(key)'") }
                try made.setOption(key, text: try Self.text(value, for: field))
            }
            return made
        }
        let optimizer = try RuleOptimizer<Rule>(groups: groups, defaults: defaults)
        let lrChanges: [String: [NSNumber]] = c["lr_changes"] == nil ? [:] : try c.value("lr_changes")
        let grads: [[Any]] = try c.value("grads")
        let expected: [[Any]] = try c.value("expected")
        guard grads.count == expected.count, !grads.isEmpty else { throw FixtureError("grads and expected differ") }

        for step in grads.indices {
            if let lrs = lrChanges[String(step)] {
                guard lrs.count == optimizer.paramGroups.count else { throw FixtureError("lr_changes count") }
                for (g, lr) in lrs.enumerated() { optimizer.paramGroups[g].lr = lr.doubleValue }
            }
            guard grads[step].count == params.count, expected[step].count == params.count else {
                throw FixtureError("step \(step) has \(grads[step].count) grads, \(expected[step].count) expected")
            }
            for (i, parameter) in params.enumerated() {
                parameter.grad = grads[step][i] is NSNull ? nil : FloatBuffer(try floats(grads[step][i]))
            }
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
                    throw FixtureError("unknown state key '\(key)'")
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

    /// Sets each of `values` (PyTorch's names and JSON values) on `options` through its declared field.
    private func setOptions<Options: OptimizerOptions>(_ values: [String: Any], in options: inout Options) throws {
        for (key, value) in values {
            guard let field = Options.field(named: key) else { throw FixtureError("unknown option '\(key)'") }
            let text = try Self.text(value, for: field)
            guard field.set(text, in: &options) else { throw FixtureError("option '\(key)' does not take '\(text)'") }
        }
    }

    /// A JSON value as the text `field` reads: a switch, a pair (betas) or a number.
    private static func text<Options>(_ value: Any, for field: OptionField<Options>) throws -> String {
        if field.isFlag, let flag = value as? Bool { return flag ? "true" : "false" }
        if let pair = value as? [NSNumber] { return pair.map { String($0.doubleValue) }.joined(separator: ",") }
        if let number = value as? NSNumber { return String(number.doubleValue) }
        throw FixtureError("option '\(field.name)' has an unreadable value \(value)")
    }
}
