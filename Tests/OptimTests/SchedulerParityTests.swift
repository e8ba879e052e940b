import Foundation
import Optim
import TestSupport
import Testing

/// Every case of `schedulers.json`: the scheduler steps once after each optimizer step (ReduceLROnPlateau with that
/// step's metric) and the learning rate — and for OneCycleLR β1 — must match PyTorch within
/// `|ours − torch| ≤ 1e-12 + 1e-9·|torch|`.
struct SchedulerParityTests {
    static func close(_ ours: Double, _ torch: Double) -> Bool { abs(ours - torch) <= 1e-12 + 1e-9 * abs(torch) }

    @Test func schedulersMatchPyTorchOnEveryReferenceCase() throws {
        for reference in try Fixtures.cases("schedulers.json") {
            let name = (reference["name"] as? String) ?? "unnamed"
            do {
                try run(reference, name: name)
            } catch {
                Issue.record("case \(name) could not be run: \(error)")
            }
        }
    }

    private func run(_ reference: [String: Any], name: String) throws {
        let parameter = try Parameter(name: "w", shape: [2], values: [1, -1])
        let betas = (reference["betas"] as? [NSNumber]).map { ($0[0].doubleValue, $0[1].doubleValue) } ?? (0.9, 0.999)
        let optimizer = try AdamW([parameter], lr: try reference.double("base_lr"), betas: betas)
        let config: [String: Any] = try reference.value("config")
        let expected = try (reference.value("lr_after_each_step") as [NSNumber]).map(\.doubleValue)
        let beta1 = (reference["beta1_after_each_step"] as? [NSNumber])?.map(\.doubleValue)
        if try config.value("type") as String == "ReduceLROnPlateau" {
            let metrics = try (reference.value("metrics") as [NSNumber]).map(\.doubleValue)
            let scheduler = try plateau(config, optimizer)
            for (step, metric) in metrics.enumerated() {
                parameter.grad = [0.5, -0.5]
                try optimizer.step()
                scheduler.step(metric: metric)
                let lr = optimizer.paramGroups[0].lr
                #expect(Self.close(lr, expected[step]), "\(name) step \(step): lr \(lr) vs \(expected[step])")
            }
            return
        }
        let scheduler = try make(config, optimizer)
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
            let cycle = try make(config, sgd)
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

    private func make(_ config: [String: Any], _ optimizer: Optimizer) throws -> LRScheduler {
        let type: String = try config.value("type")
        func int(_ key: String) throws -> Int { try config.value(key) }
        func double(_ key: String) throws -> Double { try config.double(key) }
        func known(_ keys: Set<String>) throws {
            for key in config.keys where key != "type" && !keys.contains(key) {
                throw FixtureError("\(type): unknown option '\(key)'")
            }
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
            let schedulers = try (config.value("schedulers") as [[String: Any]]).map { try make($0, optimizer) }
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

    private func plateau(_ config: [String: Any], _ optimizer: Optimizer) throws -> ReduceLROnPlateau {
        for key in config.keys where !["type", "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                                       "min_lr", "eps"].contains(key) {
            throw FixtureError("ReduceLROnPlateau: unknown option '\(key)'")
        }
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
