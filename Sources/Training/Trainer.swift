import Autograd
import DataParallel
import Kernels
import NN
import Optim

/// Where a trainer's time went: the losses (forward passes), their backward passes, and clipping plus the
/// optimizer step.
public struct StepTiming: Sendable {
    public var forward = 0.0, backward = 0.0, step = 0.0
}

/// The one training loop: a model of a ``TrainingTask``, its optimizer, and the step that both runs — the epochs of
/// ``EpochRun`` (MNIST) and the iterations of ``GPTRun`` — take over a group of micro-batches: PyTorch's
/// `optimizer.zero_grad()`, each micro-batch's `loss.backward()` with the loss weighted by its share of the samples
/// (so that the step equals one on the whole batch), clipping, `optimizer.step()`.
///
/// Each micro-batch's dropout draws from a generator seeded by the run's stream (``random``), which initialized the
/// model first; the micro-batches' gradients are summed whole, in order (``Optim/GradientAccumulator``).
///
/// **Data parallel.** Given a ``DataParallel/Communicator`` of N processes, the trainer is one rank of a ZeRO-1 run
/// (``DataParallel/ShardedOptimizer``): the micro-batches of a step are dealt round by round, micro-batch
/// `round·N + r` to rank r, and the run is bitwise one process's run. The loop is the same either way; only its
/// ``StepStrategy`` differs.
public final class Trainer<Task: TrainingTask> {
    public let task: Task
    public let model: Task.Model
    /// The model's parameters, in the model's order.
    public let parameters: [Parameter]
    public let optimizer: any Optimizer
    /// Initialization, then the seeds of the micro-batches' dropout.
    let random: RandomStream
    /// How a step sums the micro-batches' gradients and updates: on its own, or as one rank of several.
    let strategy: any StepStrategy
    /// Clip the gradients' total 2-norm to this before each step; nil: no clipping.
    let clipNorm: Double?
    /// The order clipping sums the parameters' norms in (which decides the total's last bits).
    let clipOrder: [Parameter]
    public private(set) var timing = StepTiming()

    /// The trainer of `model` (built by `task` under `random`) with `optimizer`, on its own or, given
    /// `communicator`, as its rank of a data-parallel run. `clipOrder` is the order clipping sums the norms in
    /// (default: the model's).
    public init(task: Task, model: Task.Model, optimizer: any Optimizer, random: RandomStream,
                communicator: (any Communicator)?, clipNorm: Double?, clipOrder: [Parameter]? = nil) throws {
        self.task = task
        self.model = model
        self.optimizer = optimizer
        self.random = random
        self.clipNorm = clipNorm
        parameters = model.parameters()
        self.clipOrder = clipOrder ?? parameters
        strategy = try makeStepStrategy(parameters: parameters, optimizer: optimizer, communicator: communicator)
    }

    /// The trainer of `task` under `recipe`: the model built while the recipe's seed drives the global generator,
    /// then `prepare`d (a fine-tuning run loads its starting weights: the initialization still drew from the
    /// run's generator, so its dropout is that of a run from scratch), and the recipe's optimizer (`choice`, when
    /// given, instead of the recipe's) with its decay mask and non-finite policy. Given a `communicator` of several
    /// processes, they must agree on the task's data and on `settings` (a JSON object: the options that define the
    /// run, `of` naming them in plural) before any exchange whose size depends on them. `clipInOptimizerOrder`
    /// sums the clipping norm in the optimizer's group order instead of the model's.
    public convenience init(task: Task, recipe: Recipe, communicator: (any Communicator)?,
                            settings: (json: String, of: String), choice: OptimizerChoice? = nil,
                            clipInOptimizerOrder: Bool = false,
                            prepare: (Task.Model) throws -> Void = { _ in }) throws {
        try recipe.checkAccumulate(ranks: communicator?.size ?? 1)
        let random = RandomStream(seed: recipe.seed)
        let model = try withRandomGenerator(random) { try task.makeModel() }
        try prepare(model)
        let optimizer = try recipe.makeOptimizer(model.parameters(), choice: choice)
        if let communicator, communicator.size > 1 {
            try communicator.requireAgreement(on: task.dataFingerprint(), of: task.dataName) { values in
                task.describe(fingerprint: values)
            }
        }
        try RunAgreement.require(settings.json, of: settings.of, on: communicator)
        try self.init(task: task, model: model, optimizer: optimizer, random: random, communicator: communicator,
                      clipNorm: recipe.clipNorm, clipOrder: clipInOptimizerOrder ? optimizer.parameters : nil)
    }

    /// The ZeRO-1 shards when the trainer is one rank of several, nil on its own.
    public var sharding: ShardedOptimizer? { strategy as? ShardedOptimizer }

    /// One optimizer step over the micro-batches `group` (every rank passes the whole group, and computes its own
    /// share of it); returns every micro-batch's loss, in order, from every rank.
    public func step(on group: [Task.Batch]) throws -> [Double] {
        guard !group.isEmpty else { return [] }
        // An optimizer with modes (Schedule-Free) takes gradients at its train values: back from an evaluation.
        if strategy.mode != .train { try strategy.train() }
        optimizer.zeroGrad()
        let ranks = strategy.ranks, rank = strategy.rank
        let rounds = (group.count + ranks - 1) / ranks
        // Every rank draws every micro-batch's dropout seed, in order, and keeps its own.
        let seeds = group.map { _ in random.next() }
        let counts = group.map { task.sampleCount(of: $0) }
        let total = counts.reduce(0, +)
        // Equal micro-batches weigh 1/n each: the same bits as count/total, without a total that Float may round.
        let equal = counts.allSatisfy { $0 == counts[0] }
        var losses: [Double] = []
        for round in 0..<rounds {
            let index = round * ranks + rank
            if index < group.count {
                let share = equal ? 1 / Float(group.count) : Float(counts[index]) / Float(total)
                let forward = monotonicSeconds()
                var backward = forward
                let loss = try withRandomGenerator(RandomStream(seed: seeds[index])) {
                    let loss = try task.loss(of: model, on: group[index])
                    backward = monotonicSeconds()
                    try (group.count == 1 ? loss : loss * share).backward()
                    return loss
                }
                losses.append(Double(try loss.item()))
                timing.forward += backward - forward
                timing.backward += monotonicSeconds() - backward
            } else {
                losses.append(0)  // no micro-batch for this rank in the last round of an epoch
            }
            try strategy.roundDone(round, contributors: min(ranks, group.count - round * ranks), of: group.count)
        }
        try strategy.gradientsDone(of: group.count)
        let all = try strategy.inMicroBatchOrder(losses, perRank: rounds)
        let stepStart = monotonicSeconds()
        if let clipNorm { try strategy.clipGradNorm(clipOrder, maxNorm: clipNorm) }
        try strategy.step()
        timing.step += monotonicSeconds() - stepStart
        return all
    }

    /// `body` in evaluation mode (dropout off) without gradients; training mode again after. An optimizer with
    /// modes (Schedule-Free) puts the parameters at their eval values first and leaves them there until the next
    /// step (so that what is saved or sampled after an evaluation is what was evaluated).
    public func evaluating<R>(_ body: () throws -> R) throws -> R {
        try atEvaluationValues()
        model.eval()
        defer { model.train() }
        return try withNoGrad { try body() }
    }

    /// Puts the parameters at the values to evaluate, sample or save (Schedule-Free's average); nothing for an
    /// optimizer without modes. The next step moves them back.
    public func atEvaluationValues() throws {
        try strategy.eval()
    }

    /// The Euclidean norm of all parameters together.
    public var weightNorm: Double {
        parameters.reduce(0.0) { sum, parameter in
            sum + parameter.values.reduce(0.0) { $0 + Double($1) * Double($1) }
        }.squareRoot()
    }

    /// The optimizer state one process would have (collective when sharded: rank 0's is the whole state). An
    /// optimizer with modes is put at its eval values first, so that a checkpoint's model is the one to evaluate.
    /// Call it before reading the model's values for the same checkpoint.
    public func optimizerState() throws -> StateDict {
        try atEvaluationValues()
        return try strategy.stateDict()
    }

    /// Loads a whole optimizer state (a rank keeps its part).
    public func loadOptimizerState(_ state: StateDict) throws { try strategy.load(stateDict: state) }
}
