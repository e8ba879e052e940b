import Foundation
import Optim
import TestSupport
import Testing

/// Every case of `optimizers.json` and `clip_grad_norm.json`, against PyTorch 2.15, with the README's tolerance:
/// `|ours − torch| ≤ 1e-6 + 1e-5·|torch|` for every element of every step and of the final state.
struct PyTorchParityTests {
    static let atol = 1e-6, rtol = 1e-5

    @Test func optimizersMatchPyTorchOnEveryReferenceCase() throws {
        let cases = try Fixtures.cases("optimizers.json")
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
        let known: Set = ["name", "optimizer", "defaults", "groups", "shapes", "initial", "lr_changes", "grads",
                          "expected", "final_state"]
        if let unknown = c.keys.first(where: { !known.contains($0) }) { throw FixtureError("unknown key '\(unknown)'") }
        let shapes: [[Int]] = try c.value("shapes")
        let initial = try (c.value("initial") as [Any]).map(floats)
        guard initial.count == shapes.count else { throw FixtureError("\(shapes.count) shapes, \(initial.count) initial") }
        let params = try shapes.enumerated().map { i, shape in
            try Parameter(name: "p\(i)", shape: shape, values: initial[i])
        }
        let defaults: [String: Any] = try c.value("defaults")
        let groups = try (c.value("groups") as [[String: Any]]).map { group in
            let indices: [Int] = try group.value("params")
            return try paramGroup(try indices.map { try element(params, $0, "group params") },
                                  options: try group.value("options"))
        }
        let optimizer = try makeOptimizer(try c.value("optimizer"), groups: groups, defaults: defaults)
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
            let state = optimizer.state(for: parameter)
            for key in reference.keys {
                switch key {
                case "step":
                    #expect(Double(state?.step ?? 0) == (try reference.double("step")), "\(name) param \(i) step")
                case "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer":
                    let ours: FloatBuffer? = switch key {
                    case "exp_avg": state?.expAvg
                    case "exp_avg_sq": state?.expAvgSq
                    case "max_exp_avg_sq": state?.maxExpAvgSq
                    default: state?.momentumBuffer
                    }
                    guard let ours else { Issue.record("\(name) param \(i): no \(key)"); continue }
                    let mismatch = firstMismatch(ours.array, try floats(reference[key]), atol: Self.atol, rtol: Self.rtol)
                    #expect(mismatch == nil, "\(name) param \(i) \(key): \(mismatch ?? "")")
                default:
                    throw FixtureError("unknown state key '\(key)'")
                }
            }
            if reference.isEmpty {
                #expect(state?.expAvg == nil && state?.momentumBuffer == nil && (state?.step ?? 0) == 0,
                        "\(name) param \(i) should have no state")
            }
        }
    }

    private func makeOptimizer(_ kind: String, groups: [ParamGroup], defaults d: [String: Any]) throws -> Optimizer {
        let known: Set<String> = kind == "SGD"
            ? ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"]
            : ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"]
        for key in d.keys where !known.contains(key) { throw FixtureError("unknown \(kind) option '\(key)'") }
        switch kind {
        case "AdamW", "Adam":
            let betas: [NSNumber] = try d.value("betas")
            let lr = try d.double("lr"), eps = try d.double("eps"), wd = try d.double("weight_decay")
            let amsgrad: Bool = try d.value("amsgrad"), maximize: Bool = try d.value("maximize")
            guard betas.count == 2 else { throw FixtureError("betas has \(betas.count) entries") }
            let pair = (betas[0].doubleValue, betas[1].doubleValue)
            // PyTorch's Adam takes `decoupled_weight_decay` (Adam with it is AdamW); AdamW always decouples.
            let decoupled: Bool = d["decoupled_weight_decay"] == nil ? false : try d.value("decoupled_weight_decay")
            return kind == "AdamW"
                ? try AdamW(groups, lr: lr, betas: pair, eps: eps, weightDecay: wd, amsgrad: amsgrad, maximize: maximize)
                : try Adam(groups, lr: lr, betas: pair, eps: eps, weightDecay: wd, amsgrad: amsgrad, maximize: maximize,
                           decoupledWeightDecay: decoupled)
        case "SGD":
            return try SGD(
                groups, lr: try d.double("lr"), momentum: try d.double("momentum"),
                dampening: try d.double("dampening"), weightDecay: try d.double("weight_decay"),
                nesterov: try d.value("nesterov"), maximize: try d.value("maximize"))
        default:
            throw FixtureError("unknown optimizer '\(kind)'")
        }
    }

    private func paramGroup(_ params: [Parameter], options: [String: Any]) throws -> ParamGroup {
        var group = ParamGroup(params: params)
        for key in options.keys {
            switch key {
            case "lr": group.lr = try options.double(key)
            case "betas":
                let betas: [NSNumber] = try options.value(key)
                guard betas.count == 2 else { throw FixtureError("betas has \(betas.count) entries") }
                group.betas = (betas[0].doubleValue, betas[1].doubleValue)
            case "eps": group.eps = try options.double(key)
            case "weight_decay": group.weightDecay = try options.double(key)
            case "amsgrad": group.amsgrad = try options.value(key)
            case "maximize": group.maximize = try options.value(key)
            case "momentum": group.momentum = try options.double(key)
            case "dampening": group.dampening = try options.double(key)
            case "nesterov": group.nesterov = try options.value(key)
            case "decoupled_weight_decay": group.decoupledWeightDecay = try options.value(key)
            default: throw FixtureError("unknown group option '\(key)'")
            }
        }
        return group
    }
}
