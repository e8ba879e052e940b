import Optim
import Testing

struct SchedulerBehaviourTests {
    static func optimizer(lr: Double = 0.1) throws -> AdamW {
        try AdamW([try Parameter(name: "w", shape: [1], values: [1])], lr: lr)
    }

    @Test func aNaNMetricIsNeverAnImprovement() throws {
        let optimizer = try Self.optimizer()
        let plateau = try ReduceLROnPlateau(optimizer, factor: 0.5, patience: 1)
        plateau.step(metric: 1.0)
        plateau.step(metric: .nan)
        #expect(plateau.best == 1.0 && plateau.badEpochs == 1)
        plateau.step(metric: .nan)
        #expect(optimizer.paramGroups[0].lr == 0.05, "two NaN epochs exceed a patience of 1")
    }

    @Test func invalidArgumentsThrowNamedErrors() throws {
        let optimizer = try Self.optimizer()
        let cases: [(String, () throws -> Void)] = [
            ("StepLR: invalid step size 0.0", { _ = try StepLR(optimizer, stepSize: 0) }),
            ("ExponentialLR: invalid gamma -0.5", { _ = try ExponentialLR(optimizer, gamma: -0.5) }),
            ("CosineAnnealingLR: invalid T_max 0.0", { _ = try CosineAnnealingLR(optimizer, tMax: 0) }),
            ("CosineAnnealingWarmRestarts: invalid T_mult 0.0",
             { _ = try CosineAnnealingWarmRestarts(optimizer, t0: 5, tMult: 0) }),
            ("LinearLR: invalid start factor 0.0", { _ = try LinearLR(optimizer, startFactor: 0) }),
            ("PolynomialLR: invalid power nan", { _ = try PolynomialLR(optimizer, power: .nan) }),
            ("MultiStepLR: invalid milestone -3.0", { _ = try MultiStepLR(optimizer, milestones: [2, -3]) }),
            ("OneCycleLR: invalid pct start 1.5", { _ = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 10, pctStart: 1.5) }),
            ("OneCycleLR: invalid pct start (1 leaves no steps to anneal) 1.0",
             { _ = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 10, pctStart: 1) }),
            ("OneCycleLR: invalid total steps 0.0", { _ = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 0) }),
            ("ReduceLROnPlateau: invalid factor 1.0", { _ = try ReduceLROnPlateau(optimizer, factor: 1) }),
            ("ReduceLROnPlateau: invalid patience -1.0", { _ = try ReduceLROnPlateau(optimizer, patience: -1) }),
            ("ReduceLROnPlateau: expected 1 minimum learning rates (one per parameter group), got 2",
             { _ = try ReduceLROnPlateau(optimizer, minLRs: [0, 0]) }),
            ("LambdaLR: expected 1 functions (one per parameter group), got 0",
             { _ = try LambdaLR(optimizer, factors: []) }),
            ("StepLR: invalid gamma nan", { _ = try StepLR(optimizer, stepSize: 2, gamma: .nan) }),
            ("MultiStepLR: invalid gamma -0.1", { _ = try MultiStepLR(optimizer, milestones: [2], gamma: -0.1) }),
            ("CosineAnnealingLR: invalid eta_min -1.0", { _ = try CosineAnnealingLR(optimizer, tMax: 5, etaMin: -1) }),
            ("CosineAnnealingLR: invalid eta_min inf", { _ = try CosineAnnealingLR(optimizer, tMax: 5, etaMin: .infinity) }),
            ("CosineAnnealingWarmRestarts: invalid T_0 0.0", { _ = try CosineAnnealingWarmRestarts(optimizer, t0: 0) }),
            ("CosineAnnealingWarmRestarts: invalid eta_min -0.5",
             { _ = try CosineAnnealingWarmRestarts(optimizer, t0: 5, etaMin: -0.5) }),
            ("LinearLR: invalid start factor 1.5", { _ = try LinearLR(optimizer, startFactor: 1.5) }),
            ("LinearLR: invalid end factor -0.1", { _ = try LinearLR(optimizer, endFactor: -0.1) }),
            ("PolynomialLR: invalid total iters 0.0", { _ = try PolynomialLR(optimizer, totalIters: 0) }),
            ("PolynomialLR: invalid power -1.0", { _ = try PolynomialLR(optimizer, power: -1) }),
            ("OneCycleLR: invalid max lr 0.0", { _ = try OneCycleLR(optimizer, maxLR: 0, totalSteps: 10) }),
            ("OneCycleLR: invalid div factor 0.0", { _ = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 10, divFactor: 0) }),
            ("OneCycleLR: invalid final div factor -1.0",
             { _ = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 10, finalDivFactor: -1) }),
            ("OneCycleLR: invalid base momentum 1.0",
             { _ = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 10, baseMomentum: 1) }),
            ("OneCycleLR: invalid max momentum nan",
             { _ = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 10, maxMomentum: .nan) }),
            ("OneCycleLR: invalid pct start (pct start × total steps = 1) 0.1",
             { _ = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 10, pctStart: 0.1) }),
            ("ReduceLROnPlateau: invalid threshold -0.001", { _ = try ReduceLROnPlateau(optimizer, threshold: -1e-3) }),
            ("ReduceLROnPlateau: invalid eps nan", { _ = try ReduceLROnPlateau(optimizer, eps: .nan) }),
            ("ReduceLROnPlateau: invalid cooldown -2.0", { _ = try ReduceLROnPlateau(optimizer, cooldown: -2) }),
            ("ReduceLROnPlateau: invalid min lr -1e-05", { _ = try ReduceLROnPlateau(optimizer, minLR: -1e-5) }),
            ("SequentialLR: expected 1 schedulers, got 0", { _ = try SequentialLR(optimizer, schedulers: [], milestones: []) }),
            ("SequentialLR: the scheduler at index 1 belongs to another optimizer", {
                let other = try Self.optimizer()
                _ = try SequentialLR(optimizer, schedulers: [try LinearLR(optimizer), try ExponentialLR(other, gamma: 0.9)],
                                     milestones: [3])
            }),
            ("SequentialLR: expected 1 milestones (one fewer than schedulers), got 0", {
                _ = try SequentialLR(optimizer, schedulers: [try LinearLR(optimizer), try ExponentialLR(optimizer, gamma: 0.9)],
                                     milestones: [])
            }),
        ]
        for (message, make) in cases {
            do {
                try make()
                Issue.record("no error for: \(message)")
            } catch let error as SchedulerError {
                #expect(error.description == message)
            } catch {
                Issue.record("\(message): threw \(error), not a SchedulerError")
            }
        }
    }

    /// Adagrad has neither momentum nor betas: a one-cycle schedule cannot cycle its momentum.
    @Test func oneCycleNeedsMomentumOrBetasToCycle() throws {
        let plain = try Adagrad([try Parameter(name: "w", shape: [1])])
        #expect(throws: SchedulerError.optimizerWithoutMomentum(scheduler: "OneCycleLR")) {
            try OneCycleLR(plain, maxLR: 0.1, totalSteps: 10)
        }
        _ = try OneCycleLR(plain, maxLR: 0.1, totalSteps: 10, cycleMomentum: false)
    }

    /// Each group stops at its own floor (PyTorch's min_lr as a list).
    @Test func plateauKeepsEachGroupAboveItsOwnMinimum() throws {
        let a = try Parameter(name: "a", shape: [1]), b = try Parameter(name: "b", shape: [1])
        let optimizer = try AdamW([ParamGroup(params: [a]), ParamGroup(params: [b], lr: 0.5)], lr: 1)
        let plateau = try ReduceLROnPlateau(optimizer, factor: 0.1, patience: 0, minLRs: [0.05, 0.2])
        for metric in [1.0, 1.0, 1.0, 1.0] { plateau.step(metric: metric) }
        #expect(optimizer.paramGroups.map(\.lr) == [0.05, 0.2], "\(optimizer.paramGroups.map(\.lr))")
    }

    @Test func oneCycleRefusesToStepPastItsEnd() throws {
        let optimizer = try Self.optimizer()
        let schedule = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 3)
        for _ in 0..<3 { try schedule.step() }
        #expect(throws: SchedulerError.steppedPastTotal(scheduler: "OneCycleLR", step: 4, total: 3)) { try schedule.step() }
    }

    @Test func lambdaLRAndStateRoundTrip() throws {
        let optimizer = try Self.optimizer(lr: 1)
        let schedule = try LambdaLR(optimizer) { step in 1 / Double(step + 1) }
        try schedule.step()
        try schedule.step()
        #expect(optimizer.paramGroups[0].lr == 1.0 / 3)
        let warm = try CosineAnnealingWarmRestarts(try Self.optimizer(), t0: 3, tMult: 2)
        for _ in 0..<4 { try warm.step() }
        let copy = try CosineAnnealingWarmRestarts(try Self.optimizer(), t0: 3, tMult: 2)
        try copy.load(stateDict: warm.stateDict())
        try warm.step(); try copy.step()
        #expect(warm.lastLRs == copy.lastLRs && copy.tI == 6)
        #expect(throws: SchedulerError.self) { try copy.load(stateDict: ["last_epoch": 1]) }
    }

    /// Two parameter groups with the same options.
    static func twoGroups(lr: Double = 0.1) throws -> AdamW {
        let a = try Parameter(name: "a", shape: [1]), b = try Parameter(name: "b", shape: [1])
        return try AdamW([ParamGroup(params: [a]), ParamGroup(params: [b])], lr: lr)
    }

    static func close(_ ours: [Double], _ expected: [Double]) -> Bool {
        ours.count == expected.count && zip(ours, expected).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) }
    }

    /// PyTorch's lists for max_lr, base_momentum and max_momentum: each group follows the curve of a one-group
    /// OneCycleLR given its values, bit for bit, on AdamW (β1) and SGD (momentum) alike.
    @Test func oneCycleGivesEachGroupItsOwnCurve() throws {
        let (maxLRs, bases, maxima) = ([0.1, 0.4], [0.8, 0.85], [0.9, 0.95])
        let sgd = try SGD([ParamGroup(params: [try Parameter(name: "a", shape: [1])]),
                           ParamGroup(params: [try Parameter(name: "b", shape: [1])])], lr: 0.1, momentum: 0.9)
        let groups = try ([Self.twoGroups(), sgd] as [any Optimizer]).map { optimizer in
            try OneCycleLR(optimizer, maxLRs: maxLRs, totalSteps: 10, baseMomentums: bases, maxMomentums: maxima)
        }
        let alone = try (0..<2).map { group in
            try OneCycleLR(try Self.optimizer(), maxLR: maxLRs[group], totalSteps: 10, baseMomentum: bases[group],
                           maxMomentum: maxima[group])
        }
        for step in 0..<10 {
            if step > 0 { for schedule in groups + alone { try schedule.step() } }
            for schedule in groups {
                #expect(schedule.currentLRs == alone.map { $0.currentLRs[0] }, "\(schedule.optimizer) step \(step)")
                #expect(schedule.currentMomentums == alone.map { $0.currentMomentums[0] }, "step \(step)")
            }
            // By hand: the warm-up ends at step 0.3·10 − 1 = 2, the cycle at step 9; halfway up at step 1.
            let (lrs, momentums) = (groups[0].currentLRs, groups[0].currentMomentums)
            let starts: [Double] = maxLRs.map { $0 / 25 }
            switch step {
            case 0:
                #expect(Self.close(lrs, starts) && momentums == maxima, "\(lrs) \(momentums)")
            case 1:
                let halfway: [Double] = zip(starts, maxLRs).map { ($0 + $1) / 2 }
                #expect(Self.close(lrs, halfway) && Self.close(momentums, [0.85, 0.9]), "\(lrs) \(momentums)")
            case 2: #expect(lrs == maxLRs && momentums == bases, "\(lrs) \(momentums)")
            case 9: #expect(lrs == starts.map { $0 / 1e4 } && momentums == maxima, "\(lrs) \(momentums)")
            default: break
            }
        }
    }

    /// PyTorch's `epochs` and `steps_per_epoch` stand for total_steps = epochs · steps_per_epoch: the same schedule
    /// to the last bit, to its end.
    @Test func oneCycleOverEpochsIsTheScheduleOfEpochsTimesStepsPerEpoch() throws {
        let byEpochs = try OneCycleLR(try Self.twoGroups(), maxLRs: [0.1, 0.3], epochs: 3, stepsPerEpoch: 4,
                                      pctStart: 0.25, baseMomentums: [0.85, 0.8], maxMomentums: [0.95, 0.9],
                                      threePhase: true)
        let bySteps = try OneCycleLR(try Self.twoGroups(), maxLRs: [0.1, 0.3], totalSteps: 12, pctStart: 0.25,
                                     baseMomentums: [0.85, 0.8], maxMomentums: [0.95, 0.9], threePhase: true)
        let scalarByEpochs = try OneCycleLR(try Self.optimizer(), maxLR: 0.2, epochs: 4, stepsPerEpoch: 3,
                                            annealing: .linear)
        let scalarBySteps = try OneCycleLR(try Self.optimizer(), maxLR: 0.2, totalSteps: 12, annealing: .linear)
        #expect(byEpochs.totalSteps == 12 && scalarByEpochs.totalSteps == 12)
        for step in 0...12 {
            if step > 0 { for schedule in [byEpochs, bySteps, scalarByEpochs, scalarBySteps] { try schedule.step() } }
            #expect(byEpochs.lastLRs == bySteps.lastLRs && byEpochs.currentMomentums == bySteps.currentMomentums,
                    "step \(step)")
            #expect(scalarByEpochs.lastLRs == scalarBySteps.lastLRs
                    && scalarByEpochs.currentMomentums == scalarBySteps.currentMomentums, "step \(step)")
        }
        #expect(throws: SchedulerError.steppedPastTotal(scheduler: "OneCycleLR", step: 13, total: 12)) {
            try byEpochs.step()
        }
    }

    @Test func oneCycleRefusesAListWithoutOneValuePerGroupOrWithABadValue() throws {
        let optimizer = try Self.twoGroups()
        let (bases, maxima) = ([0.85, 0.85], [0.95, 0.95])
        #expect(throws: SchedulerError.countMismatch(scheduler: "OneCycleLR", name: "max lrs (one per parameter group)",
                                                     expected: 2, actual: 1)) {
            try OneCycleLR(optimizer, maxLRs: [0.1], totalSteps: 10, baseMomentums: bases, maxMomentums: maxima)
        }
        let cases: [(String, () throws -> Void)] = [
            ("OneCycleLR: expected 2 base momentums (one per parameter group), got 3", {
                _ = try OneCycleLR(optimizer, maxLRs: [0.1, 0.1], totalSteps: 10, baseMomentums: [0.85, 0.85, 0.85],
                                   maxMomentums: maxima)
            }),
            ("OneCycleLR: expected 2 max momentums (one per parameter group), got 0", {
                _ = try OneCycleLR(optimizer, maxLRs: [0.1, 0.1], totalSteps: 10, baseMomentums: bases, maxMomentums: [])
            }),
            ("OneCycleLR: expected 2 max lrs (one per parameter group), got 3", {
                _ = try OneCycleLR(optimizer, maxLRs: [0.1, 0.1, 0.1], epochs: 2, stepsPerEpoch: 5, baseMomentums: bases,
                                   maxMomentums: maxima)
            }),
            ("OneCycleLR: invalid max lr -0.1", {
                _ = try OneCycleLR(optimizer, maxLRs: [0.1, -0.1], totalSteps: 10, baseMomentums: bases, maxMomentums: maxima)
            }),
            ("OneCycleLR: invalid max lr inf", {
                _ = try OneCycleLR(optimizer, maxLRs: [.infinity, 0.1], totalSteps: 10, baseMomentums: bases,
                                   maxMomentums: maxima)
            }),
            ("OneCycleLR: invalid base momentum 1.0", {
                _ = try OneCycleLR(optimizer, maxLRs: [0.1, 0.1], totalSteps: 10, baseMomentums: [0.85, 1],
                                   maxMomentums: maxima)
            }),
            ("OneCycleLR: invalid max momentum nan", {
                _ = try OneCycleLR(optimizer, maxLRs: [0.1, 0.1], totalSteps: 10, baseMomentums: bases,
                                   maxMomentums: [0.95, .nan])
            }),
            ("OneCycleLR: invalid max momentum -0.5", {
                _ = try OneCycleLR(optimizer, maxLRs: [0.1, 0.1], totalSteps: 10, baseMomentums: bases,
                                   maxMomentums: [-0.5, 0.95])
            }),
            ("OneCycleLR: invalid epochs 0.0", { _ = try OneCycleLR(optimizer, maxLR: 0.1, epochs: 0, stepsPerEpoch: 10) }),
            ("OneCycleLR: invalid steps per epoch -1.0", {
                _ = try OneCycleLR(optimizer, maxLRs: [0.1, 0.1], epochs: 2, stepsPerEpoch: -1, baseMomentums: bases,
                                   maxMomentums: maxima)
            }),
            ("OneCycleLR: invalid total steps (epochs × steps per epoch) \(Double(Int.max) * 2)", {
                _ = try OneCycleLR(optimizer, maxLR: 0.1, epochs: Int.max, stepsPerEpoch: 2)
            }),
            ("OneCycleLR: invalid pct start (pct start × total steps = 1) 0.1", {
                _ = try OneCycleLR(optimizer, maxLR: 0.1, epochs: 2, stepsPerEpoch: 5, pctStart: 0.1)
            }),
        ]
        for (message, make) in cases {
            do {
                try make()
                Issue.record("no error for: \(message)")
            } catch let error as SchedulerError {
                #expect(error.description == message)
            } catch {
                Issue.record("\(message): threw \(error), not a SchedulerError")
            }
        }
    }

    /// ReduceLROnPlateau is an LRScheduler, as in PyTorch ≥ 2.2: one value holds any schedule, names it, saves and
    /// restores it. It steps on a metric, so the plain step() (and a SequentialLR, which would call it) refuses,
    /// and the refusal changes nothing.
    @Test func plateauServesAsAnyLRSchedulerButStepsOnAMetric() throws {
        let schedules: [LRScheduler] = [try ExponentialLR(try Self.optimizer(lr: 1), gamma: 0.5),
                                        try ReduceLROnPlateau(try Self.optimizer(lr: 1), factor: 0.5, patience: 0)]
        #expect(schedules.map(\.name) == ["ExponentialLR", "ReduceLROnPlateau"])
        #expect(schedules[1].lastEpoch == 0 && schedules[1].lastLRs == [1], "as PyTorch's, made at epoch 0")
        for schedule in schedules {
            for _ in 0..<2 {
                if let plateau = schedule as? ReduceLROnPlateau { plateau.step(metric: 1) } else { try schedule.step() }
            }
        }
        #expect(schedules.map(\.lastLRs) == [[0.25], [0.5]] && schedules.map(\.currentLRs) == [[0.25], [0.5]])
        let plateau = schedules[1]
        #expect(throws: SchedulerError.metricRequired(scheduler: "ReduceLROnPlateau")) { try plateau.step() }
        #expect(plateau.lastEpoch == 2 && plateau.currentLRs == [0.5])

        let copy: LRScheduler = try ReduceLROnPlateau(try Self.optimizer(lr: 0.5), factor: 0.5, patience: 0)
        try copy.load(stateDict: plateau.stateDict())
        #expect(copy.stateDict() == plateau.stateDict())
        for schedule in [plateau, copy] { (schedule as? ReduceLROnPlateau)?.step(metric: 1) }
        #expect(copy.lastLRs == [0.25] && copy.stateDict() == plateau.stateDict())
        #expect(throws: SchedulerError.self) { try copy.load(stateDict: ["best": 1]) }

        let optimizer = try Self.optimizer()
        let warmup = try LinearLR(optimizer)
        #expect(throws: SchedulerError.metricRequired(scheduler: "ReduceLROnPlateau")) {
            try SequentialLR(optimizer, schedulers: [warmup, try ReduceLROnPlateau(optimizer)], milestones: [5])
        }
        #expect(warmup.lastEpoch == 0 && warmup.currentLRs == [0.1 * (1.0 / 3)], "the refusal changed nothing")
    }

    /// Each argument reads back under the name of its label.
    @Test func everySchedulerArgumentReadsBackUnderItsLabel() throws {
        let optimizer = try Self.optimizer()
        let polynomial = try PolynomialLR(optimizer, totalIters: 4, power: 2)
        #expect(polynomial.totalIters == 4 && polynomial.power == 2)
        let cycle = try OneCycleLR(optimizer, maxLR: 0.1, totalSteps: 20, pctStart: 0.4, annealing: .linear,
                                   cycleMomentum: false, baseMomentum: 0.8, maxMomentum: 0.9, divFactor: 10,
                                   finalDivFactor: 100, threePhase: true)
        #expect(cycle.maxLRs == [0.1] && cycle.totalSteps == 20 && cycle.pctStart == 0.4 && cycle.annealing == .linear)
        #expect(!cycle.cycleMomentum && cycle.baseMomentums == [0.8] && cycle.maxMomentums == [0.9])
        #expect(cycle.divFactor == 10 && cycle.finalDivFactor == 100 && cycle.threePhase)
    }
}
