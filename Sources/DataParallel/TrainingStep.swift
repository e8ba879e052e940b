import Optim

/// How a training run's step sums its micro-batches' gradients and updates the weights: on its own (the
/// micro-batches' whole gradients summed in order by ``Optim/GradientAccumulator``, then the optimizer's step), or
/// as one rank of a ZeRO-1 run (``ShardedOptimizer``). `GPTRun` and `TrainingRun` call the same methods either
/// way, so a run's loop does not branch on where it runs, and both ways give the same bits.
public final class TrainingStep {
    public let optimizer: any Optimizer
    /// The ZeRO-1 shards when the run is one rank of several, nil on its own.
    public let sharding: ShardedOptimizer?
    private let accumulator: GradientAccumulator

    /// The step of `optimizer` over `parameters` (the model's, in order), sharded when `communicator` has more than
    /// one process.
    public init(parameters: [Parameter], optimizer: any Optimizer, communicator: (any Communicator)?) throws {
        self.optimizer = optimizer
        accumulator = GradientAccumulator(parameters)
        if let communicator, communicator.size > 1 {
            sharding = try ShardedOptimizer(parameters: parameters, optimizer: optimizer, communicator: communicator)
        } else {
            sharding = nil
        }
    }

    /// How many processes share the step, and this one's rank.
    public var ranks: Int { sharding?.size ?? 1 }
    public var rank: Int { sharding?.rank ?? 0 }

    /// After the backward passes of round `round`, in which ranks `0..<contributors` computed a micro-batch each,
    /// of a step of `microBatches` in all. One process with a single micro-batch keeps its gradient as it is.
    public func roundDone(_ round: Int, contributors: Int, of microBatches: Int) throws {
        if let sharding {
            try sharding.reduceGradients(round: round, contributors: contributors)
        } else if microBatches > 1 {
            try accumulator.collect(first: round == 0)
        }
    }

    /// After the last round: the sum becomes the gradient (a rank's: of the parameters it owns).
    public func gradientsDone(of microBatches: Int) throws {
        if let sharding {
            try sharding.finishGradients()
        } else if microBatches > 1 {
            try accumulator.finish()
        }
    }

    /// Every process's micro-batch values (losses), `perRank` each, in micro-batch order; on its own, `local`.
    public func inMicroBatchOrder(_ local: [Double], perRank: Int) throws -> [Double] {
        try sharding?.gatherInMicroBatchOrder(local, perRank: perRank) ?? local
    }

    /// Clips the gradients' total norm, `order` being the order one process passes the parameters in.
    public func clipGradNorm(_ order: [Parameter], maxNorm: Double) throws {
        if let sharding {
            try sharding.clipGradNorm(order, maxNorm: maxNorm)
        } else {
            try Optim.clipGradNorm(order, maxNorm: maxNorm)
        }
    }

    public func step() throws {
        if let sharding { try sharding.step() } else { try optimizer.step() }
    }

    /// The optimizer state one process would have (collective when sharded: rank 0's is the whole state).
    public func stateDict() throws -> StateDict { try sharding?.stateDict() ?? optimizer.stateDict() }

    /// Loads a whole optimizer state (a rank keeps its part).
    public func load(stateDict state: StateDict) throws {
        if let sharding {
            try sharding.load(stateDict: state)
        } else {
            try optimizer.load(stateDict: state)
        }
    }
}
