import Foundation
import Training

extension Sweep {
    /// One cell of a GPT sweep.
    public struct GPTCell: Sendable {
        public let optimizer: String
        public let lr: Double
        public let weightDecay: Double
        public let heldOutLoss: Double
        public let selectionLoss: Double
        public let trainLoss: Double
    }

    /// The sweep on the GPT: every (lr, λ) of each optimizer's grid trained for `iterations`, its held-out loss
    /// (and the selection half's, and the last train estimate).
    public static func runGPT(
        optimizers: [(name: String, recipe: GPTRecipe, weightDecays: [Double])], learningRates: [Double],
        iterations: Int, evalInterval: Int, data: GPTExperiment.Data, runner: ParallelRuns,
        finished: (@Sendable (String) -> Void)? = nil
    ) throws -> [GPTCell] {
        let jobs = optimizers.flatMap { optimizer in
            optimizer.weightDecays.flatMap { weightDecay in
                learningRates.map { lr in (optimizer.name, optimizer.recipe, lr, weightDecay) }
            }
        }
        return try runner.map(jobs.count) { index in
            let (name, base, lr, weightDecay) = jobs[index]
            var recipe = base
            recipe.optimizerOptions["lr"] = String(lr)
            recipe.optimizerOptions["weight_decay"] = String(weightDecay)
            // nanoGPT's schedule ends at a tenth of the peak: the floor moves with the cell's rate.
            recipe.minLR = lr / 10
            let result = try GPTExperiment.train(recipe, iterations: iterations, evalInterval: evalInterval, on: data)
            finished?("\(name) lr=\(lr) λ=\(weightDecay)")
            return GPTCell(optimizer: name, lr: lr, weightDecay: weightDecay, heldOutLoss: result.heldOutLoss,
                           selectionLoss: result.selectionLoss, trainLoss: result.trainLoss)
        }
    }
}
