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

    /// An optimizer with neither momentum nor betas, to check what needs them.
    final class PlainDescent: Optimizer {
        init(_ params: [Parameter]) throws(OptimError) {
            try super.init(groups: [ParamGroup(params: params)], defaults: ParamGroup(params: []))
        }
        override func update(_ parameter: Parameter, state: ParameterState, group: ParamGroup) {}
    }

    @Test func oneCycleNeedsMomentumOrBetasToCycle() throws {
        let plain = try PlainDescent([try Parameter(name: "w", shape: [1])])
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
}
