import Foundation
import Optim
import Testing
import Training

/// A run's options carry the optimizer typed, and are saved in the layout checkpoints have always had.
struct TrainingOptionsTests {
    /// The options of `adamw train --optimizer adam --states int8 --no-decay-bias-norm --clip-norm 1 --betas
    /// 0.9,0.95 --lr 0.002`, as the release before typed options saved them.
    static let saved = #"{"accumulate":1,"batchSize":64,"clipNorm":1,"hidden":[],"minLR":0,"model":"linear","noDecayBiasNorm":true,"nonFinite":"skip","optimizer":"adam","optimizerOptions":{"betas":"0.9,0.95","lr":"0.002","states":"int8"},"pctStart":0.3,"plateauFactor":0.1,"plateauPatience":10,"scheduleEpochs":5,"scheduler":"none","seed":0}"#

    @Test func theSavedLayoutIsUnchanged() throws {
        var options = TrainingOptions()
        options.optimizer = try OptimizerChoice(.adam, settings: ["lr": "0.002", "betas": "0.9,0.95", "states": "int8"])
        options.training.decay = .exceptBiasesAndNorms
        options.clipNorm = 1
        #expect(try StateJSON.encode(options) == Self.saved)
        let read = try #require(try TrainingOptions.decodeSaved(Self.saved))
        #expect(read == options && read.optimizer.lr == 0.002 && read.optimizer.text(of: "states") == "int8")
    }

    /// A file's optimizer options pass the checks a flag's pass, and the refusal names the value.
    @Test func aSavedOptionTheOptimizerRefusesIsThrownNotTakenForUnreadable() throws {
        let lying = Self.saved.replacingOccurrences(of: #""lr":"0.002""#, with: #""lr":"-1""#)
        #expect(throws: OptimError.invalidLearningRate(-1)) { try TrainingOptions.decodeSaved(lying) }
        let unknown = Self.saved.replacingOccurrences(of: #""states":"int8""#, with: #""momentum":"0.9""#)
        #expect(throws: OptimError.unknownOption(name: "momentum", optimizer: "Adam")) { try TrainingOptions.decodeSaved(unknown) }
        #expect(try TrainingOptions.decodeSaved("{\"model\":\"linear\"}") == nil)
    }
}
