import Foundation
import Optim
import TestSupport
import Testing

/// Every case of `schedulers.json`: the scheduler steps once after each optimizer step (ReduceLROnPlateau with that
/// step's metric) and the learning rate — and for OneCycleLR β1 — must match PyTorch within
/// `|ours − torch| ≤ 1e-12 + 1e-9·|torch|`. A key the test does not read fails the case.
struct SchedulerParityTests {
    static func close(_ ours: Double, _ torch: Double) -> Bool { abs(ours - torch) <= 1e-12 + 1e-9 * abs(torch) }

    @Test func schedulersMatchPyTorchOnEveryReferenceCase() throws {
        for reference in try Fixtures.cases("schedulers.json") {
            let name = (reference["name"] as? String) ?? "unnamed"
            do {
                try run(reference, name: name, in: "schedulers.json case '\(name)'")
            } catch {
                Issue.record("case \(name) could not be run: \(error)")
            }
        }
    }

    /// The keys of a case that the test reads: `metrics` only for ReduceLROnPlateau, which steps on them, and
    /// `beta1_after_each_step` only for the others (OneCycleLR cycles β1).
    static func caseKeys(plateau: Bool) -> Set<String> {
        ["name", "base_lr", "betas", "config", "lr_after_each_step", plateau ? "metrics" : "beta1_after_each_step"]
    }

    /// `context` names the file and the case in a failure.
    private func run(_ reference: [String: Any], name: String, in context: String) throws {
        let config: [String: Any] = try reference.value("config")
        let isPlateau = try config.value("type") as String == "ReduceLROnPlateau"
        try rejectUnknownKeys(of: reference, understood: Self.caseKeys(plateau: isPlateau), in: context)
        let parameter = try Parameter(name: "w", shape: [2], values: [1, -1])
        var betas = (0.9, 0.999)
        if reference["betas"] != nil {
            let pair: [Double] = try reference.value("betas")
            guard pair.count == 2 else { throw FixtureError("betas has \(pair.count) entries") }
            betas = (pair[0], pair[1])
        }
        let optimizer = try AdamW([parameter], lr: try reference.double("base_lr"), betas: betas)
        let expected = try (reference.value("lr_after_each_step") as [NSNumber]).map(\.doubleValue)
        let beta1: [Double]? = reference["beta1_after_each_step"] == nil
            ? nil : try (reference.value("beta1_after_each_step") as [NSNumber]).map(\.doubleValue)
        guard beta1 == nil || beta1?.count == expected.count else { throw FixtureError("β1 and lr differ in count") }
        if isPlateau {
            let metrics = try (reference.value("metrics") as [NSNumber]).map(\.doubleValue)
            guard metrics.count == expected.count else { throw FixtureError("metrics and lr differ in count") }
            let scheduler = try plateau(config, optimizer, in: context)
            for (step, metric) in metrics.enumerated() {
                parameter.grad = [0.5, -0.5]
                try optimizer.step()
                scheduler.step(metric: metric)
                let lr = optimizer.paramGroups[0].lr
                #expect(Self.close(lr, expected[step]), "\(name) step \(step): lr \(lr) vs \(expected[step])")
            }
            return
        }
        let scheduler = try make(config, optimizer, in: context)
        for step in expected.indices {
            parameter.grad = [0.5, -0.5]
            try optimizer.step()
            try scheduler.step()
            let lr = optimizer.paramGroups[0].lr
            #expect(Self.close(lr, expected[step]), "\(name) step \(step): lr \(lr) vs \(expected[step])")
            if let beta1 {
                let ours = optimizer.paramGroups[0].betas.0
                #expect(Self.close(ours, beta1[step]), "\(name) step \(step): β1 \(ours) vs \(beta1[step])")
            }
        }
        // PyTorch's OneCycleLR cycles SGD's momentum exactly as it cycles Adam's β1: the same reference holds.
        if let beta1 {
            let weight = try Parameter(name: "w", shape: [2], values: [1, -1])
            let sgd = try SGD([weight], lr: try reference.double("base_lr"), momentum: 0.9)
            let cycle = try make(config, sgd, in: context)
            for step in expected.indices {
                weight.grad = [0.5, -0.5]
                try sgd.step()
                try cycle.step()
                let (lr, momentum) = (sgd.paramGroups[0].lr, sgd.paramGroups[0].momentum)
                #expect(Self.close(lr, expected[step]), "\(name) SGD step \(step): lr \(lr) vs \(expected[step])")
                #expect(Self.close(momentum, beta1[step]), "\(name) SGD step \(step): momentum \(momentum) vs \(beta1[step])")
            }
        }
    }

    /// The scheduler `config` describes; `path` is where `config` sits in the case (SequentialLR's schedulers).
    private func make(
        _ config: [String: Any], _ optimizer: Optimizer, path: String = "config.", in context: String
    ) throws -> LRScheduler {
        let type: String = try config.value("type")
        func int(_ key: String) throws -> Int { try config.value(key) }
        func double(_ key: String) throws -> Double { try config.double(key) }
        func known(_ keys: Set<String>) throws {
            try rejectUnknownKeys(of: config, understood: keys.union(["type"]), path: path, in: "\(context) (\(type))")
        }
        switch type {
        case "StepLR":
            try known(["step_size", "gamma"])
            return try StepLR(optimizer, stepSize: try int("step_size"), gamma: try double("gamma"))
        case "MultiStepLR":
            try known(["milestones", "gamma"])
            return try MultiStepLR(optimizer, milestones: try config.value("milestones"), gamma: try double("gamma"))
        case "ExponentialLR":
            try known(["gamma"])
            return try ExponentialLR(optimizer, gamma: try double("gamma"))
        case "CosineAnnealingLR":
            try known(["T_max", "eta_min"])
            return try CosineAnnealingLR(optimizer, tMax: try int("T_max"), etaMin: try double("eta_min"))
        case "CosineAnnealingWarmRestarts":
            try known(["T_0", "T_mult", "eta_min"])
            return try CosineAnnealingWarmRestarts(optimizer, t0: try int("T_0"), tMult: try int("T_mult"),
                                                   etaMin: try double("eta_min"))
        case "LinearLR":
            try known(["start_factor", "end_factor", "total_iters"])
            return try LinearLR(optimizer, startFactor: try double("start_factor"), endFactor: try double("end_factor"),
                                totalIters: try int("total_iters"))
        case "PolynomialLR":
            try known(["total_iters", "power"])
            return try PolynomialLR(optimizer, totalIters: try int("total_iters"), power: try double("power"))
        case "SequentialLR":
            try known(["schedulers", "milestones"])
            let schedulers = try (config.value("schedulers") as [[String: Any]]).enumerated().map { index, inner in
                try make(inner, optimizer, path: "\(path)schedulers[\(index)].", in: context)
            }
            return try SequentialLR(optimizer, schedulers: schedulers, milestones: try config.value("milestones"))
        case "OneCycleLR":
            try known(["max_lr", "total_steps", "pct_start", "anneal_strategy", "div_factor", "final_div_factor",
                       "three_phase", "cycle_momentum", "base_momentum", "max_momentum"])
            guard let annealing = OneCycleLR.Annealing(rawValue: try config.value("anneal_strategy")) else {
                throw FixtureError("unknown anneal strategy")
            }
            return try OneCycleLR(
                optimizer, maxLR: try double("max_lr"), totalSteps: try int("total_steps"),
                pctStart: try double("pct_start"), annealing: annealing, cycleMomentum: try config.value("cycle_momentum"),
                baseMomentum: try double("base_momentum"), maxMomentum: try double("max_momentum"),
                divFactor: try double("div_factor"), finalDivFactor: try double("final_div_factor"),
                threePhase: try config.value("three_phase"))
        default:
            throw FixtureError("unknown scheduler \(type)")
        }
    }

    private func plateau(_ config: [String: Any], _ optimizer: Optimizer, in context: String) throws -> ReduceLROnPlateau {
        try rejectUnknownKeys(
            of: config,
            understood: ["type", "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"],
            path: "config.", in: "\(context) (ReduceLROnPlateau)")
        guard let mode = ReduceLROnPlateau.Mode(rawValue: try config.value("mode")),
              let thresholdMode = ReduceLROnPlateau.ThresholdMode(rawValue: try config.value("threshold_mode")) else {
            throw FixtureError("unknown mode")
        }
        return try ReduceLROnPlateau(
            optimizer, mode: mode, factor: try config.double("factor"), patience: try config.value("patience"),
            threshold: try config.double("threshold"), thresholdMode: thresholdMode,
            cooldown: try config.value("cooldown"), minLR: try config.double("min_lr"), eps: try config.double("eps"))
    }
}
