import Autograd
import Datasets
import Foundation
import NN
import Optim
import Testing
import Training

/// The GPT run as a library: nanoGPT's schedule, the checkpoint's layout and its checks, and a run that learns.
struct GPTRunTests {
    /// nanoGPT's get_lr with warmup_iters 100, lr_decay_iters 2000, learning_rate 1e-3, min_lr 1e-4, written out.
    @Test func theScheduleIsNanoGPTs() {
        let recipe = GPTRecipe()
        #expect(recipe.learningRate(at: 0) == 1e-3 * 1 / 101)
        #expect(recipe.learningRate(at: 99) == 1e-3 * 100 / 101)
        #expect(abs(recipe.learningRate(at: 100) - 1e-3) < 1e-15)
        #expect(abs(recipe.learningRate(at: 1050) - (1e-4 + 0.5 * 0.9e-3)) < 1e-15, "halfway down the cosine")
        #expect(recipe.learningRate(at: 2000) == 1e-4 && recipe.learningRate(at: 5000) == 1e-4)
        var constant = recipe
        constant.warmup = 0
        constant.decayIterations = 1
        #expect(constant.learningRate(at: 0) == 1e-3 && constant.learningRate(at: 2) == 1e-4)
    }

    @Test(arguments: [(false, true, 4), (true, true, 2), (true, false, 1), (false, false, 3)])
    func theParameterCountIsTheModels(_ bias: Bool, _ tied: Bool, _ layers: Int) {
        let configuration = GPT.Configuration(vocabularySize: 11, blockSize: 7, layers: layers, heads: 2, embedding: 6,
                                              bias: bias, tiedEmbedding: tied)
        let model = GPT(configuration)
        #expect(GPTCheckpoint.parameterCount(configuration) == model.parameters().reduce(0) { $0 + $1.count })
    }

    @Test func aCheckpointRebuildsTheModelAndRefusesWhatDoesNotFit() throws {
        let corpus = try TextCorpus(text: String(repeating: "First Citizen: speak, speak.\n", count: 20))
        var recipe = GPTRecipe()
        (recipe.layers, recipe.heads, recipe.embedding, recipe.context, recipe.batchSize) = (1, 2, 8, 8, 2)
        let run = try GPTRun(recipe: recipe, corpus: corpus)
        try run.step()
        let state = try run.stateDict()
        let (model, tokenization) = try GPTCheckpoint.model(from: state)
        #expect(tokenization == .characters(try #require(corpus.characters)) && model.configuration == run.model.configuration)
        #expect(model.stateDict() == run.model.stateDict())

        var wrongSize = state
        wrongSize.metadata["vocab_size"] = "3"
        #expect(throws: StateMismatch.self) { try GPTCheckpoint.model(from: wrongSize) }
        var huge = state
        huge.metadata["n_layer"] = "1000"
        let error = #expect(throws: StateMismatch.self) { try GPTCheckpoint.model(from: huge) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("more weights than the file holds"))
        var untiedHead = state
        untiedHead.tensors["lm_head.weight"]?.values[0] += 1
        #expect(throws: StateMismatch.self) { try GPTCheckpoint.model(from: untiedHead) }
        #expect(CharacterVocabulary(text: "ba") == nil && CharacterVocabulary(text: "aa") == nil)

        // A run of another recipe refuses the state, and keeps its own.
        var other = recipe
        other.seed = 9
        let second = try GPTRun(recipe: other, corpus: corpus)
        let before = second.model.stateDict()
        #expect(throws: StateMismatch.self) { try second.load(state) }
        #expect(second.model.stateDict() == before && second.iteration == 0)
    }

    @Test func aShortRunLearnsTheText() throws {
        let corpus = try TextCorpus(text: String(repeating: "abcdefgh", count: 200))
        var recipe = GPTRecipe()
        (recipe.layers, recipe.heads, recipe.embedding, recipe.context, recipe.batchSize) = (1, 2, 16, 8, 8)
        (recipe.warmup, recipe.decayIterations) = (5, 60)
        recipe.optimizer = try recipe.optimizer.setting("lr", to: "0.01")
        let run = try GPTRun(recipe: recipe, corpus: corpus)
        let initial = try run.validationLoss()
        while run.iteration < 60 { try run.step() }
        let trained = try run.validationLoss()
        #expect(abs(initial - log(8)) < 0.3, "an untrained model is near uniform: \(initial)")
        #expect(trained < 0.2, "a cycle of 8 letters is learned: \(trained)")
        #expect(try run.sample(prompt: "abc", characters: 8, temperature: 0.5, topK: 1, seed: 0) == "abcdefghabc")
    }
}
