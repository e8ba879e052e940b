import Datasets
import Foundation
import Kernels
import Optim
import Testing
import Training

/// What every run has is one type: the MNIST options and the GPT's recipe each hold a `Recipe`, the trainer is
/// built from it, and its decay mask is saved under each task's old key.
struct RecipeTests {
    /// With the Transformer recipe's mask, a step with zero gradients decays the matrix (AdamW: θ·(1 − lr·λ)) and
    /// leaves the bias; with `.all` both shrink. The policy for non-finite gradients reaches the optimizer.
    @Test(arguments: [Recipe.DecayMask.all, .exceptBiasesAndNorms])
    func theMaskDecidesWhichParametersDecay(_ mask: Recipe.DecayMask) throws {
        let weight = try Parameter(name: "weight", shape: [2, 2], values: [1, 1, 1, 1])
        let bias = try Parameter(name: "bias", shape: [2], values: [1, 1])
        let choice = try OptimizerChoice(.adamw, settings: ["lr": "0.5", "weight_decay": "0.1"])
        let recipe = Recipe(optimizer: choice, decay: mask, batchSize: 1, seed: 0, nonFinite: .throw)
        let optimizer = try recipe.makeOptimizer([weight, bias])
        #expect(optimizer.nonFiniteGradients == .throw)
        weight.grad = FloatBuffer(count: 4)
        bias.grad = FloatBuffer(count: 2)
        try optimizer.step()
        let decayed = Float(1) * (1 - Float(0.5) * Float(0.1))
        #expect(Array(weight.values) == Array(repeating: decayed, count: 4))
        #expect(Array(bias.values) == Array(repeating: mask == .all ? decayed : 1, count: 2))
    }

    /// The seeds' example decays everything and skips a non-finite step; nanoGPT's recipe spares biases and
    /// LayerNorm weights and steps as PyTorch does. Each task saves the mask under its own key, with its own sense.
    @Test func eachTaskKeepsItsDefaultsAndItsKey() throws {
        let options = TrainingOptions(), recipe = GPTRecipe()
        #expect(options.training.decay == .all && options.training.nonFinite == .skip && options.batchSize == 64)
        #expect(recipe.training.decay == .exceptBiasesAndNorms && recipe.training.nonFinite == .propagate)
        #expect(recipe.batchSize == 12 && recipe.clipNorm == 1 && recipe.seed == 1337)
        for mask in [Recipe.DecayMask.all, .exceptBiasesAndNorms] {
            var mnist = options, gpt = recipe
            mnist.training.decay = mask
            gpt.training.decay = mask
            let mnistJSON = try StateJSON.encode(mnist), gptJSON = try StateJSON.encode(gpt)
            #expect(mnistJSON.contains("\"noDecayBiasNorm\":\(mask == .exceptBiasesAndNorms)"))
            #expect(gptJSON.contains("\"decayAll\":\(mask == .all)"))
            #expect(try TrainingOptions.decodeSaved(mnistJSON)?.training == mnist.training)
            #expect(try StateJSON.decodeChecked(GPTRecipe.self, from: gptJSON)?.training == gpt.training)
        }
        // The GPT's policy is saved only when it is not PyTorch's, so that older recipes keep their bytes.
        var skipping = recipe
        skipping.training.nonFinite = .skip
        let json = try StateJSON.encode(skipping)
        #expect(!(try StateJSON.encode(recipe)).contains("nonFinite") && json.contains(#""nonFinite":"skip""#))
        #expect(try StateJSON.decodeChecked(GPTRecipe.self, from: json) == skipping)
    }

    /// Both runs build their optimizer through the recipe: its policy and groups are the ones it names.
    @Test func bothRunsBuildTheirOptimizerFromTheRecipe() throws {
        let corpus = try TextCorpus(text: String(repeating: "abcdefgh", count: 100))
        var recipe = GPTRecipe()
        (recipe.layers, recipe.heads, recipe.embedding, recipe.context, recipe.batchSize) = (1, 2, 8, 4, 2)
        recipe.training.nonFinite = .throw
        let run = try GPTRun(recipe: recipe, corpus: corpus)
        #expect(run.optimizer.nonFiniteGradients == .throw)
        // nanoGPT's two groups: the matrices, then the biases and LayerNorm weights.
        #expect(run.optimizer.groupSchedules.count == 2)
        recipe.training.decay = .all
        #expect(try GPTRun(recipe: recipe, corpus: corpus).optimizer.groupSchedules.count == 1)
    }
}
