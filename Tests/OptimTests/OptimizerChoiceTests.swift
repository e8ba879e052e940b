import Optim
import Testing

/// An optimizer chosen by name takes its options as text once, keeps them typed, and builds the same optimizer as
/// one written in code with the same values.
struct OptimizerChoiceTests {
    static func parameters() throws -> [Parameter] {
        let weight = try Parameter(name: "w", shape: [2, 3], values: [0.5, -1, 2, 0.25, -0.75, 1.5])
        let bias = try Parameter(name: "b", shape: [3], values: [0.1, -0.2, 0.3])
        return [weight, bias]
    }

    @Test func theTextIsReadOnceAndKeptAsItsOptionPrintsIt() throws {
        let choice = try OptimizerChoice(.adamw, settings: ["lr": "3e-4", "betas": " 0.9 , 0.95", "amsgrad": "true"])
        #expect(choice.lr == 3e-4 && choice.weightDecay == 0.01)
        #expect(choice.given == ["lr": "0.0003", "betas": "0.9,0.95", "amsgrad": "true"])
        #expect(choice.text(of: "eps") == "1e-08" && choice.text(of: "momentum") == nil)
        #expect(choice == (try OptimizerChoice(.adamw, settings: ["lr": "0.0003", "betas": "0.9,0.95", "amsgrad": "true"])))
        #expect(choice != (try OptimizerChoice(.adam, settings: ["lr": "0.0003", "betas": "0.9,0.95", "amsgrad": "true"])))
        // An option set back to nothing is its default again, and no longer given.
        let reset = try choice.setting("betas", to: nil)
        #expect(reset.text(of: "betas") == "0.9,0.999" && reset.given["betas"] == nil && reset.lr == 3e-4)
    }

    @Test func aValueTheOptimizerRefusesIsRefusedWhereTheChoiceIsMade() throws {
        #expect(throws: OptimError.unknownOption(name: "momentum", optimizer: "AdamW")) {
            try OptimizerChoice(.adamw, settings: ["momentum": "0.9"])
        }
        #expect(throws: OptimError.unreadableOption(name: "betas", text: "0.9", expected: "two numbers separated by a comma")) {
            try OptimizerChoice(.adam, settings: ["betas": "0.9"])
        }
        #expect(throws: OptimError.invalidLearningRate(-1)) { try OptimizerChoice(.sgd, settings: ["lr": "-1"]) }
        #expect(throws: OptimError.self) { try OptimizerChoice(.adamw, settings: ["lr": "1e39"]) }
        let valid = try OptimizerChoice(.rmsprop, settings: ["alpha": "0.9"])
        #expect(throws: OptimError.invalidWeightDecay(-0.5)) { try valid.setting("weight_decay", to: "-0.5") }
    }

    /// The options reach the optimizer typed: three steps of the chosen AdamW (with both groups of the Transformer
    /// recipe) are bitwise those of AdamW built in code with the same numbers.
    @Test func theChosenOptimizerStepsAsTheOneWrittenInCode() throws {
        let choice = try OptimizerChoice(.adamw, settings: ["lr": "0.01", "betas": "0.8,0.95", "eps": "1e-6",
                                                            "weight_decay": "0.1", "amsgrad": "true"])
        let (chosenParameters, writtenParameters) = (try Self.parameters(), try Self.parameters())
        let chosen = try choice.makeOptimizer(chosenParameters, excludingFromDecay: .biasesAndNorms)
        let written = try AdamW([ParamGroup(params: [writtenParameters[0]]),
                                 ParamGroup(params: [writtenParameters[1]], weightDecay: 0)],
                                lr: 0.01, betas: (0.8, 0.95), eps: 1e-6, weightDecay: 0.1, amsgrad: true)
        for step in 1...3 {
            for parameters in [chosenParameters, writtenParameters] {
                for parameter in parameters { parameter.grad = FloatBuffer(parameter.values.map { $0 * Float(step) - 0.5 }) }
            }
            try chosen.step()
            try written.step()
        }
        #expect(chosenParameters.map(\.values) == writtenParameters.map(\.values))
        #expect(try chosen.stateDict() == written.stateDict())
    }

    /// A study trains one setting under Adam and AdamW: the options both have are kept, the others dropped.
    @Test func switchingKeepsTheOptionsBothOptimizersHave() throws {
        let adamw = try OptimizerChoice(.adamw, settings: ["lr": "0.002", "weight_decay": "0.05", "amsgrad": "true"])
        let adam = try adamw.switched(to: .adam)
        #expect(adam.kind == .adam && adam.given == adamw.given && adam.weightDecay == 0.05)
        let sgd = try adamw.switched(to: .sgd)
        #expect(sgd.given == ["lr": "0.002", "weight_decay": "0.05"] && sgd.text(of: "momentum") == "0.0")
    }
}
