import Foundation
import Optim
import Testing

/// Options are declared once per optimizer: groups record what they override and show effective values, every
/// option reads back from its text to the same bits, and state dicts are written from the declarations.
struct OptionDeclarationTests {
    static func parameter(_ name: String) throws -> Parameter {
        let parameter = try Parameter(name: name, shape: [2], values: [1, -1])
        parameter.grad = [0.5, 0.25]
        return parameter
    }

    @Test func aGroupRecordsWhatItOverridesAndTheOptimizerShowsEffectiveValues() throws {
        var custom = ParamGroup<AdamOptions>(params: [try Self.parameter("b")], weightDecay: 0)
        custom.betas = (0.8, 0.95)
        custom.amsgrad = true
        #expect(custom.overrides == ["weight_decay", "betas", "amsgrad"])
        let optimizer = try AdamW([ParamGroup(params: [try Self.parameter("a")]), custom], lr: 0.01)
        let (first, second) = (optimizer.paramGroups[0], optimizer.paramGroups[1])
        #expect(first.weightDecay == 0.01 && first.lr == 0.01 && first.betas == (0.9, 0.999) && !first.amsgrad)
        #expect(second.weightDecay == 0 && second.lr == 0.01 && second.betas == (0.8, 0.95) && second.amsgrad)
        #expect(second.overrides == Set(AdamOptions.fields.map(\.name)), "an optimizer's groups are complete")
    }

    /// Options set in code generic over the options type (where `\.lr` is the protocol's key path, not the
    /// declared field's) are recorded as overrides exactly as in concrete code.
    @Test func anOptionSetInGenericCodeIsAnOverrideToo() throws {
        func configure<O: OptimizerOptions>(_ group: inout ParamGroup<O>) {
            group.lr = 0.5
            group.weightDecay = 0.25
            group.cycledMomentum = 0.75
        }
        var generic = ParamGroup<AdamOptions>(params: [try Self.parameter("g")])
        configure(&generic)
        var concrete = ParamGroup<AdamOptions>(params: [try Self.parameter("c")])
        concrete.lr = 0.5
        concrete.weightDecay = 0.25
        concrete.betas = (0.75, 0.999)
        #expect(generic.overrides == ["lr", "weight_decay", "betas"] && generic.overrides == concrete.overrides)
        let optimizer = try AdamW([generic, concrete], lr: 0.001)
        for group in optimizer.paramGroups {
            #expect(group.lr == 0.5 && group.weightDecay == 0.25 && group.betas == (0.75, 0.999))
        }
        // Setting an option to the value it already has is an override too, in generic code as well.
        var same = ParamGroup<SGDOptions>(params: [try Self.parameter("s")])
        func keepDefaultRate<O: OptimizerOptions>(_ group: inout ParamGroup<O>) { group.lr = group.lr }
        keepDefaultRate(&same)
        #expect(same.overrides == ["lr"])
        #expect(try SGD([same], lr: 0.1).paramGroups[0].lr == SGDOptions().lr)
    }

    @Test(arguments: OptimizerKind.allCases)
    func everyOptionReadsBackFromItsTextToTheSameBits(_ kind: OptimizerKind) throws {
        #expect(!kind.options.isEmpty)
        var settings: [String: String] = [:]
        for option in kind.options where option.requires == nil {
            settings[option.name] = option.isFlag ? "true"
                : option.expected.contains("two") ? "0.8125,0.96875"
                : option.expected.contains(" or ") ? option.defaultText
                : option.expected == "a whole number" ? "3"
                : option.name == "lr" ? "0.1" : "0.0625"
        }
        if kind == .sgd { settings["dampening"] = "0" }  // Nesterov needs it
        let optimizer = try kind.makeOptimizer([try Self.parameter("w")], settings: settings)
        let saved = try optimizer.stateDict()
        let restored = try kind.makeOptimizer([try Self.parameter("w")])
        try restored.load(stateDict: saved)
        #expect(try restored.stateDict() == saved, "\(kind)")
        #expect(saved.metadata["type"] == kind.className && saved.metadata["format"] == "3")
    }

    @Test func textThatDoesNotParseOrAnUnknownNameIsRefusedByName() throws {
        #expect(throws: OptimError.unreadableOption(name: "betas", text: "0.9", expected: "two numbers separated by a comma")) {
            _ = try OptimizerKind.adam.makeOptimizer([try Self.parameter("w")], settings: ["betas": "0.9"])
        }
        #expect(throws: OptimError.unknownOption(name: "momentum", optimizer: "AdamW")) {
            _ = try OptimizerKind.adamw.makeOptimizer([try Self.parameter("w")], settings: ["momentum": "0.9"])
        }
        var group = ParamGroup<SGDOptions>(params: [])
        #expect(throws: OptimError.unreadableOption(name: "nesterov", text: "yes", expected: "true or false")) {
            try group.setOption("nesterov", text: "yes")
        }
        #expect(group.overrides.isEmpty)
    }

    @Test func stateTensorsRecordTheirElementType() throws {
        let w = try Self.parameter("w")
        let optimizer = try Adam([w], amsgrad: true)
        try optimizer.step()
        let state = optimizer.stateDict()
        #expect(Set(state.tensors.keys) == ["state.w.exp_avg", "state.w.exp_avg_sq", "state.w.max_exp_avg_sq"])
        #expect(state.tensors.values.allSatisfy { $0.elementType == .float32 })
        #expect(optimizer.state(for: w)?.buffer(.expAvg)?.elementType == .float32)
    }

    /// A state written before options were declared per optimizer (format 1: every optimizer's fields in one
    /// record) loads and continues exactly; a format this build does not know is refused by its number.
    @Test func aVersionOneStateLoadsAndAnUnknownVersionIsRefused() throws {
        let (a, b) = (try Self.parameter("w"), try Self.parameter("w"))
        let original = try AdamW([ParamGroup(params: [a], lr: 0.02)], amsgrad: true)
        try original.step()
        var old = original.stateDict()
        old.metadata["format"] = nil
        old.metadata["groups"] = """
            [{"amsgrad":true,"beta1":0.9,"beta2":0.999,"dampening":0,"decayConvention":"lr",\
            "decoupledWeightDecay":true,"eps":1e-08,"initialLR":0.02,"initialLRClaimed":false,"lr":0.02,\
            "maximize":false,"momentum":0,"nesterov":false,"params":["w"],"weightDecay":0.01}]
            """
        let restored = try AdamW([b])
        b.values = a.values
        try restored.load(stateDict: old)
        #expect(restored.paramGroups[0].lr == 0.02 && restored.paramGroups[0].amsgrad)
        try original.step()
        try restored.step()
        #expect(a.values == b.values)

        old.metadata["format"] = "4"
        #expect { try restored.load(stateDict: old) } throws: { error in
            "\(error)".contains("the optimizer state is format version 4; this build reads versions 1 to 3")
        }
    }

    @Test func aValueReadFromAStateIsValidatedAsIfItWereSetInCode() throws {
        let w = try Self.parameter("w")
        let optimizer = try SGD([w], momentum: 0.9)
        var state = optimizer.stateDict()
        state.metadata["groups"] = state.metadata["groups"]?.replacingOccurrences(of: "\"momentum\":\"0.9\"",
                                                                                  with: "\"momentum\":\"-1.0\"")
        #expect { try optimizer.load(stateDict: state) } throws: { error in
            "\(error)".contains("group 0: invalid momentum value: -1.0")
        }
        #expect(optimizer.paramGroups[0].momentum == 0.9, "nothing was loaded")
    }
}
