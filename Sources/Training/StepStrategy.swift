import DataParallel
import Optim

/// How a ``Trainer``'s step sums its micro-batches' gradients and updates the weights: on its own
/// (``LocalStep``: the micro-batches' whole gradients summed in order, then the optimizer's step), or as one rank of a
/// ZeRO-1 run (``DataParallel/ShardedOptimizer``). The trainer calls the same methods either way, so its loop never
/// asks where it runs, and both ways give the same bits.
public protocol StepStrategy: AnyObject {
    /// How many processes share the step, and this one's rank.
    var ranks: Int { get }
    var rank: Int { get }
    /// After the backward passes of round `round`, in which ranks `0..<contributors` computed a micro-batch each,
    /// of a step of `microBatches` in all.
    func roundDone(_ round: Int, contributors: Int, of microBatches: Int) throws
    /// After the last round: the sum becomes the gradient (a rank's: of the parameters it owns).
    func gradientsDone(of microBatches: Int) throws
    /// Every process's micro-batch values (losses), `perRank` each, in micro-batch order.
    func inMicroBatchOrder(_ local: [Double], perRank: Int) throws -> [Double]
    /// Clips the gradients' total norm, `order` being the order one process sums the parameters in.
    func clipGradNorm(_ order: [Parameter], maxNorm: Double) throws
    /// The optimizer's step (a rank's: of its shard, then the new values shared).
    func step() throws
    /// The optimizer state one process would have (collective when sharded: rank 0's is the whole state).
    func stateDict() throws -> StateDict
    /// Loads a whole optimizer state (a rank keeps its part).
    func load(stateDict state: StateDict) throws
    /// The optimizer's mode (see ``Optim/Optimizer/mode``), and its switches: collective when sharded (the
    /// owners move their parameters, then everyone gathers them); nothing for an optimizer without modes.
    var mode: OptimizerMode { get }
    func train() throws
    func eval() throws
}

/// The step of `optimizer` over `parameters` (the model's, in order): sharded over `communicator` when it has
/// more than one process, on its own otherwise.
func makeStepStrategy(parameters: [Parameter], optimizer: any Optimizer,
                      communicator: (any Communicator)?) throws -> any StepStrategy {
    if let communicator, communicator.size > 1 {
        return try ShardedOptimizer(parameters: parameters, optimizer: optimizer, communicator: communicator)
    }
    return LocalStep(parameters: parameters, optimizer: optimizer)
}

/// One process's step: the micro-batches' gradients summed whole, in order (``Optim/GradientAccumulator``); a
/// single micro-batch keeps its gradient as it is.
public final class LocalStep: StepStrategy {
    public let optimizer: any Optimizer
    private let accumulator: GradientAccumulator

    public init(parameters: [Parameter], optimizer: any Optimizer) {
        self.optimizer = optimizer
        accumulator = GradientAccumulator(parameters)
    }

    public var ranks: Int { 1 }
    public var rank: Int { 0 }

    public func roundDone(_ round: Int, contributors: Int, of microBatches: Int) throws {
        if microBatches > 1 { try accumulator.collect(first: round == 0) }
    }

    public func gradientsDone(of microBatches: Int) throws {
        if microBatches > 1 { try accumulator.finish() }
    }

    public func inMicroBatchOrder(_ local: [Double], perRank: Int) -> [Double] { local }

    public func clipGradNorm(_ order: [Parameter], maxNorm: Double) throws {
        try Optim.clipGradNorm(order, maxNorm: maxNorm)
    }

    public func step() throws { try optimizer.step() }

    public func stateDict() throws -> StateDict { try optimizer.stateDict() }

    public func load(stateDict state: StateDict) throws { try optimizer.load(stateDict: state) }

    public var mode: OptimizerMode { optimizer.mode }
    public func train() throws { try optimizer.train() }
    public func eval() throws { try optimizer.eval() }
}

extension ShardedOptimizer: StepStrategy {
    public var ranks: Int { size }

    public func roundDone(_ round: Int, contributors: Int, of microBatches: Int) throws {
        try reduceGradients(round: round, contributors: contributors)
    }

    public func gradientsDone(of microBatches: Int) throws { try finishGradients() }

    public func inMicroBatchOrder(_ local: [Double], perRank: Int) throws -> [Double] {
        try gatherInMicroBatchOrder(local, perRank: perRank)
    }

    public func clipGradNorm(_ order: [Parameter], maxNorm: Double) throws {
        _ = try clipGradNorm(order, maxNorm: maxNorm) as Float
    }
}
