import Foundation
import Optim
import Testing
import Training

/// The GPT's recipe carries the optimizer typed, and is saved in the layout checkpoints have always had.
struct GPTRecipeTests {
    /// The recipe of `adamw gpt --optimizer adam --iters 20 --accumulate 2 --dropout 0.1 --bias`, as the release
    /// before typed options saved it.
    static let saved = #"{"accumulate":2,"batchSize":12,"bias":true,"clipNorm":1,"context":64,"decayAll":false,"decayIterations":20,"dropout":0.1,"embedding":128,"gelu":"none","heads":4,"layers":4,"minLR":0.0001,"optimizer":"adam","optimizerOptions":{"betas":"0.9,0.99","lr":"0.001","weight_decay":"0.1"},"seed":1337,"tiedEmbedding":true,"warmup":100}"#

    @Test func theSavedLayoutIsUnchangedAndTheRecipesOptionsFillWhatIsNotGiven() throws {
        var recipe = try GPTRecipe(optimizer: .adam)
        (recipe.accumulate, recipe.decayIterations, recipe.dropout, recipe.bias) = (2, 20, 0.1, true)
        #expect(try StateJSON.encode(recipe) == Self.saved)
        #expect(try StateJSON.decodeChecked(GPTRecipe.self, from: Self.saved) == recipe)
        // The recipe's options that an optimizer has, under the ones given; SGD has no betas.
        let sgd = try GPTRecipe(optimizer: .sgd, given: ["lr": "0.05"])
        #expect(sgd.optimizer.given == ["lr": "0.05", "weight_decay": "0.1"] && sgd.lr == 0.05)
    }

    /// Schedule-Free warms up on its own: the recipe's warm-up becomes its `warmup_steps` unless that is given.
    @Test func scheduleFreeTakesTheRecipesWarmupAsItsOwn() throws {
        var recipe = try GPTRecipe(optimizer: .adamwScheduleFree)
        recipe.warmup = 37
        #expect(try recipe.optimizerToBuild().text(of: "warmup_steps") == "37")
        recipe.optimizer = try recipe.optimizer.setting("warmup_steps", to: "5")
        #expect(try recipe.optimizerToBuild().text(of: "warmup_steps") == "5")
        #expect(recipe.learningRate(at: 0) == recipe.lr && recipe.learningRate(at: 1000) == recipe.lr)
    }

    @Test func aSavedOptionTheOptimizerRefusesIsThrown() throws {
        let lying = Self.saved.replacingOccurrences(of: #""lr":"0.001""#, with: #""lr":"nan""#)
        #expect(throws: OptimError.self) { try StateJSON.decodeChecked(GPTRecipe.self, from: lying) }
        #expect(try StateJSON.decodeChecked(GPTRecipe.self, from: "[1]") == nil)
    }
}
