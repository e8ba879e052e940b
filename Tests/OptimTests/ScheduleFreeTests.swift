import Foundation
import Kernels
import Optim
import TestSupport
import Testing

/// Schedule-Free AdamW against `schedulefree.AdamWScheduleFree` 1.4.1 on every case of `schedulefree.json` (train
/// values after every step, eval values where the case reads them, final state, counters and eval values), with
/// the README's tolerance; and its modes, counters, state dicts and refusals.
struct ScheduleFreeTests {
    static let atol = 1e-6, rtol = 1e-5

    static let caseKeys: Set<String> = ["name", "defaults", "groups", "shapes", "initial", "lr_changes", "grads",
                                        "expected_train", "expected_eval_at", "final_eval", "final_state",
                                        "final_groups"]

    @Test(arguments: PyTorchParityTests.paths)
    func matchesScheduleFreeOnEveryReferenceCase(_ path: CPUPath) throws {
        // meta.class names the class the trajectories come from (`AdamWScheduleFree(foreach=False)`): the one built here.
        let cases = try Fixtures.cases("schedulefree.json", meta: ["class"])
        for referenceCase in cases {
            let name = (referenceCase["name"] as? String) ?? "unnamed"
            do {
                try CPUPath.$forced.withValue(path) {
                    try runCase(referenceCase, name: name, context: "schedulefree.json case '\(name)'")
                }
            } catch {
                Issue.record("case \(name) could not be run: \(error)")
            }
        }
    }

    private func expectClose(_ ours: [Float], _ theirs: Any?, _ what: String) throws {
        let mismatch = firstMismatch(ours, try floats(theirs), atol: Self.atol, rtol: Self.rtol)
        #expect(mismatch == nil, "\(what): \(mismatch ?? "")")
    }

    private func runCase(_ c: [String: Any], name: String, context: String) throws {
        try rejectUnknownKeys(of: c, understood: Self.caseKeys, in: context)
        let (optimizer, params) = try PyTorchParityTests.optimizer(of: c, rule: AdamWScheduleFreeRule.self,
                                                                   context: context)
        optimizer.train()
        let evalAt: [String: [Any]] = try c.value("expected_eval_at")
        let expected: [[Any]] = try c.value("expected_train")
        let steps = try PyTorchParityTests.steps(of: c, expected: expected, context: context)
        try rejectUnknownKeys(unknownStepKeys(evalAt, steps: steps, path: "expected_eval_at."), in: context)

        for step in 0..<steps {
            try PyTorchParityTests.prepare(step: step, of: c, optimizer: optimizer, params: params, expected: expected)
            try optimizer.step()
            if let eval = evalAt[String(step)] {
                guard eval.count == params.count else { throw FixtureError("expected_eval_at.\(step) count") }
                optimizer.eval()
                for (i, parameter) in params.enumerated() {
                    try expectClose(parameter.values.array, eval[i], "\(name) eval after step \(step) param \(i)")
                }
                optimizer.train()
            }
            for (i, parameter) in params.enumerated() {
                try expectClose(parameter.values.array, expected[step][i], "\(name) step \(step) param \(i)")
            }
        }

        let finalState: [[String: Any]] = try c.value("final_state")
        guard finalState.count == params.count else { throw FixtureError("final_state has \(finalState.count) entries") }
        for (i, parameter) in params.enumerated() {
            let reference = finalState[i]
            try rejectUnknownKeys(of: reference, understood: ["z", "exp_avg_sq"], path: "final_state[\(i)].", in: context)
            guard let state = optimizer.state(for: parameter) else {
                #expect(reference.isEmpty, "\(name) param \(i) has no state, the reference has one")
                continue
            }
            for key in ["z", "exp_avg_sq"] {
                guard let ours = state[StateBufferName(rawValue: key)] else {
                    Issue.record("\(name) param \(i): no \(key)")
                    continue
                }
                try expectClose(ours.array, reference[key], "\(name) param \(i) \(key)")
            }
        }
        let finalGroups: [[String: Any]] = try c.value("final_groups")
        guard finalGroups.count == optimizer.groupCounters.count else { throw FixtureError("final_groups count") }
        for (index, (reference, ours)) in zip(finalGroups, optimizer.groupCounters).enumerated() {
            try rejectUnknownKeys(of: reference, understood: ["k", "weight_sum", "lr_max"], path: "final_groups[\(index)].",
                                  in: context)
            // Double arithmetic on both sides, in the same order.
            #expect(Double(ours.k) == (try reference.double("k")), "\(name) group \(index) k")
            for (key, value) in [("weight_sum", ours.weightSum), ("lr_max", ours.lrMax)] {
                let theirs = try reference.double(key)
                #expect(abs(value - theirs) <= 1e-12 * abs(theirs), "\(name) group \(index) \(key): \(value) vs \(theirs)")
            }
        }
        let finalEval: [Any] = try c.value("final_eval")
        guard finalEval.count == params.count else { throw FixtureError("final_eval count") }
        optimizer.eval()
        for (i, parameter) in params.enumerated() {
            try expectClose(parameter.values.array, finalEval[i], "\(name) final eval param \(i)")
        }
    }

    // MARK: - Modes, counters, state

    static func parameters(count: Int = 40) throws -> [Parameter] {
        [try Parameter(name: "w", shape: [count / 5, 5], values: (0..<count).map { sin(Float($0)) }),
         try Parameter(name: "b", shape: [5], values: (0..<5).map { Float($0) / 4 - 0.5 })]
    }

    static func gradients(_ parameters: [Parameter], step: Int) {
        for parameter in parameters {
            parameter.grad = FloatBuffer((0..<parameter.count).map { cos(Float($0 * 3 + 11 * step)) })
        }
    }

    @Test func aStepOutsideTrainModeIsRefusedAndChangesNothing() throws {
        let params = try Self.parameters()
        let optimizer = try AdamWScheduleFree(params, lr: 0.01)
        #expect(optimizer.mode == .eval, "as the original, it starts outside train mode")
        Self.gradients(params, step: 0)
        let before = params.map(\.values)
        #expect { try optimizer.step() } throws: {
            "\($0)" == "AdamWScheduleFree was not in train mode when step was called: call train() before stepping "
                + "and eval() before evaluating"
        }
        #expect(params.map(\.values) == before && optimizer.groupCounters[0].k == 0)
        optimizer.train()
        try optimizer.step()
        optimizer.eval()
        #expect(throws: OptimError.stepInEvalMode(optimizer: "AdamWScheduleFree")) { try optimizer.step() }
    }

    @Test func optimizersWithoutModesIgnoreTrainAndEval() throws {
        let (a, b) = (try Self.parameters(), try Self.parameters())
        let plain = try AdamW(a, lr: 0.01), switched = try AdamW(b, lr: 0.01)
        for step in 0..<3 {
            Self.gradients(a, step: step)
            Self.gradients(b, step: step)
            switched.eval()
            #expect(switched.mode == .train)
            try plain.step()
            try switched.step()
            switched.eval()
        }
        #expect(zip(a, b).allSatisfy { $0.values == $1.values })
        #expect(plain.stateDict() == switched.stateDict(), "no mode or counters in its state")
    }

    /// A group counts its steps whether or not its parameters have gradients, as the original's `k`.
    @Test func aGroupCountsEveryStepAndAParameterWithoutGradientIsLeftAlone() throws {
        let params = try Self.parameters()
        let optimizer = try AdamWScheduleFree(groups: [ParamGroup(params: [params[0]]), ParamGroup(params: [params[1]])])
        optimizer.train()
        Self.gradients(params, step: 0)
        params[1].grad = nil
        let untouched = params[1].values
        try optimizer.step()
        #expect(optimizer.groupCounters.map(\.k) == [1, 1])
        #expect(params[1].values == untouched && optimizer.state(for: params[1]) == nil)
        // z starts as a copy of the weights and stays float32.
        #expect(optimizer.state(for: params[0])?.buffer(.z)?.storage == .float32)
    }

    /// Stopping after `split` steps, saving in `mode`, and resuming on new objects gives the straight run's bits,
    /// with v in any storage (71,680 elements: whole 8- and 4-bit blocks).
    @Test(arguments: [OptimizerMode.train, .eval], [StateStorage.float32, .bfloat16, .int8, .int4])
    func aResumedRunContinuesBitForBitInEitherMode(_ mode: OptimizerMode, _ storage: StateStorage) throws {
        let steps = 6, split = 3, count = 71_680
        func run(resumingAt resume: Int?) throws -> ([Float], StateDict) {
            var params = try Self.parameters(count: count)
            var optimizer = try AdamWScheduleFree(params, lr: 0.02, weightDecay: 0.05, warmupSteps: 2, r: 0.5,
                                                  states: storage)
            optimizer.train()
            for step in 0..<steps {
                if step == split {
                    // The straight run takes the same round trip (eval then train rounds the values).
                    if mode == .eval { optimizer.eval() }
                    if resume != nil {
                        let saved = optimizer.stateDict(), values = params.map(\.values)
                        params = try Self.parameters(count: count)
                        for (parameter, value) in zip(params, values) { parameter.values = value }
                        // Built with the same storage: a loaded state is converted to the optimizer's.
                        optimizer = try AdamWScheduleFree(params, states: storage)
                        try optimizer.load(stateDict: saved)
                        #expect(optimizer.mode == mode)
                    }
                    optimizer.train()
                }
                Self.gradients(params, step: step)
                try optimizer.step()
            }
            optimizer.eval()
            return (params.flatMap(\.values.array), optimizer.stateDict())
        }
        let straight = try run(resumingAt: nil), resumed = try run(resumingAt: split)
        #expect(straight.0 == resumed.0)
        #expect(straight.1 == resumed.1)
        #expect(straight.1.metadata["mode"] == "eval")
        // v as its storage keeps it, z always in float32.
        let elementType: StateElementType = switch storage {
        case .float32: .float32
        case .bfloat16: .bfloat16
        case .int8, .int4: .uint8
        }
        #expect(straight.1.tensors["state.w.exp_avg_sq"]?.elementType == elementType)
        #expect(straight.1.tensors["state.w.z"]?.elementType == .float32)
    }

    @Test(arguments: [StateStorage.float32, .int8])
    func oneAndTwoThreadsGiveTheSameBits(_ storage: StateStorage) throws {
        var results: [[Float]] = []
        for threads in [1, 2] {
            let params = try Self.parameters(count: 204_800)
            let optimizer = try AdamWScheduleFree(params, lr: 0.01, weightDecay: 0.1, warmupSteps: 2, states: storage)
            try ThreadPool.$current.withValue(try ThreadPool(threadCount: threads)) {
                optimizer.train()
                for step in 0..<4 {
                    Self.gradients(params, step: step)
                    try optimizer.step()
                }
                optimizer.eval()
            }
            results.append(params.flatMap(\.values.array) + optimizer.state(for: params[0])!.buffer(.z)!.values.array)
        }
        #expect(results[0] == results[1])
    }

    @Test func theCountersAndTheModeAreSavedAndCheckedOnLoading() throws {
        let params = try Self.parameters()
        let optimizer = try AdamWScheduleFree(params, lr: 0.01)
        optimizer.train()
        Self.gradients(params, step: 0)
        try optimizer.step()
        let saved = optimizer.stateDict()
        #expect(saved.metadata["mode"] == "train")
        #expect(saved.metadata["groups"]?.contains("\"weight_sum\"") == true)

        var broken = saved
        broken.metadata["groups"] = saved.metadata["groups"]?.replacingOccurrences(of: "\"k\":\"1\"", with: "\"k\":\"-1\"")
        broken.metadata["mode"] = "sideways"
        let fresh = try AdamWScheduleFree(try Self.parameters())
        #expect {
            try fresh.load(stateDict: broken)
        } throws: { error in
            let text = "\(error)"
            return text.contains("group 0's counters [k=-1, lr_max=0.01, weight_sum=0.0001] are not AdamWScheduleFree's")
                && text.contains("the mode is 'sideways', not train or eval")
        }
        #expect(fresh.groupCounters[0].k == 0 && fresh.mode == .eval, "nothing changed")
        try fresh.load(stateDict: saved)
        #expect(fresh.groupCounters == optimizer.groupCounters && fresh.mode == .train)
    }

    @Test(arguments: [
        ("betas", "0,0.999", "invalid betas value: 0.0 (must be β1 in (0, 1): eval() divides by it)"),
        ("warmup_steps", "-1", "invalid warmup_steps value: -1.0 (must be >= 0)"),
        ("warmup_steps", "2.5", "invalid warmup_steps value: '2.5' (must be a whole number)"),
        ("r", "-1", "invalid r value: -1.0 (must be finite and >= 0)"),
        ("weight_lr_power", "nan", "invalid weight_lr_power value: nan (must be finite and >= 0)"),
    ])
    func invalidOptionsAreRefusedNamingTheValue(_ name: String, _ text: String, _ message: String) throws {
        var options = ScheduleFreeOptions()
        let field = try #require(ScheduleFreeOptions.field(named: name))
        #expect {
            guard field.set(text, in: &options) else {
                throw OptimError.unreadableOption(name: name, text: text, expected: field.expected)
            }
            _ = try AdamWScheduleFree(groups: [ParamGroup(params: try Self.parameters())], defaults: options)
        } throws: { "\($0)" == message }
    }
}
