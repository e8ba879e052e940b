import Checkpoints
import Kernels
import Optim

/// ZeRO stage 1 over a ``Communicator``: every process holds the whole model and computes its own micro-batches;
/// each owns the optimizer state of one contiguous run of parameters (``ShardPlan``) and steps only those.
///
/// One iteration, in the order a run calls it:
/// 1. After each round of micro-batches (one a process), ``reduceGradients(round:contributors:)``: every process
///    sends each owner its gradients of the owner's parameters (a reduce-scatter made of direct sends), and the
///    owner adds them **in rank order** onto its running sum. Micro-batch `round·N + r` is rank r's, so the sum is
///    `((g₀ + g₁) + g₂) + …` over the micro-batches in order: exactly what one process with
///    ``Optim/GradientAccumulator`` and N times the micro-batches computes, bit for bit.
/// 2. ``finishGradients()``: the sums become the owned parameters' gradients; the others have none.
/// 3. ``clipGradNorm(_:maxNorm:)``: each owner's per-tensor norms are gathered, and the total is taken over all of
///    them in one process's order.
/// 4. ``step()``: the non-finite policy is decided once from every process's gradients, the optimizer steps the
///    owned parameters (the only ones with gradients, so the only ones with state), and the owners' new values
///    are gathered by every process (an all-gather).
///
/// ``stateDict()`` gathers the shards into the state one process would save; ``load(stateDict:)`` keeps a
/// process's own part of such a state, whatever number of processes saved it.
///
/// Memory a process: the model's weights and gradients, the state of its share, the running sum of its share's
/// gradients, and two exchange buffers of at most about 16 MiB each (the exchanges go in pieces).
public final class ShardedOptimizer {
    public let communicator: any Communicator
    public let optimizer: any Optimizer
    /// The model's parameters, in the order the plan cuts.
    public let modelParameters: [Parameter]
    public let plan: ShardPlan
    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    /// Where the time of ``reduceGradients(round:contributors:)``, ``step()`` and the parameters' all-gather went,
    /// and the bytes each sent.
    public struct Timing: Sendable {
        public var reduceScatter = 0.0, step = 0.0, allGather = 0.0
        public var reduceScatterBytes = 0, allGatherBytes = 0
        public init() {}
    }
    public private(set) var timing = Timing()

    /// This process's elements of the concatenated parameters.
    private let own: Range<Int>
    /// Elements of one piece a peer: the exchanges go piece by piece, so that the buffers below stay at about
    /// 16 MiB each whatever the model (ZeRO-1 must not spend on buffers what it saves on state).
    let piece: Int
    /// Pieces in the largest share: every process runs this many rounds of each exchange.
    private let pieces: Int
    /// One piece for each peer, to send (gradients packed from the parameters) and to receive.
    private let outgoing: UnsafeMutablePointer<Float>
    private let incoming: UnsafeMutablePointer<Float>
    /// The running sum of the owned elements' gradients.
    private let sum: UnsafeMutablePointer<Float>
    /// Each parameter's index in ``modelParameters``, by identity.
    private let positions: [ObjectIdentifier: Int]

    /// - Throws: ``CommunicationError/invalid(_:)`` when the optimizer's parameters are not `parameters`.
    public init(parameters: [Parameter], optimizer: any Optimizer, communicator: any Communicator) throws(CommunicationError) {
        let ours = Set(parameters.map(ObjectIdentifier.init))
        guard ours.count == parameters.count, ours == Set(optimizer.parameters.map(ObjectIdentifier.init)) else {
            throw .invalid("the optimizer's parameters are not the model's: a data-parallel run shards one optimizer over one model")
        }
        self.communicator = communicator
        self.optimizer = optimizer
        modelParameters = parameters
        positions = Dictionary(uniqueKeysWithValues: parameters.enumerated().map { (ObjectIdentifier($1), $0) })
        plan = try ShardPlan(counts: parameters.map(\.count), ranks: communicator.size)
        own = plan.elements(of: communicator.rank)
        let shares = plan
        let largest = (0..<communicator.size).map { shares.elements(of: $0).count }.max() ?? 0
        piece = max(4096, min((1 << 22) / communicator.size, largest))
        pieces = (largest + piece - 1) / piece
        outgoing = .allocate(capacity: piece * communicator.size)
        incoming = .allocate(capacity: piece * communicator.size)
        sum = .allocate(capacity: max(own.count, 1))
    }

    deinit {
        outgoing.deallocate()
        incoming.deallocate()
        sum.deallocate()
    }

    /// Piece `index` of rank `rank`'s share, as elements of the concatenation (empty past the share's end).
    private func piece(_ index: Int, of rank: Int) -> Range<Int> {
        let span = plan.elements(of: rank)
        let lower = min(span.lowerBound + index * piece, span.upperBound)
        return lower..<min(lower + piece, span.upperBound)
    }

    /// Runs `body` over the parts of the parameters that `range` of the concatenation covers: (parameter index,
    /// offset in the parameter, offset in the range, count).
    private func forEachPart(of range: Range<Int>, _ body: (Int, Int, Int, Int) -> Void) {
        guard !range.isEmpty else { return }
        // The last parameter that starts at or before the range (binary search: a model can have many tensors).
        var low = 0, high = modelParameters.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if plan.starts[middle] <= range.lowerBound { low = middle } else { high = middle - 1 }
        }
        var index = low
        while index < modelParameters.count && plan.starts[index] < range.upperBound {
            let from = max(range.lowerBound, plan.starts[index]), to = min(range.upperBound, plan.starts[index + 1])
            if from < to { body(index, from - plan.starts[index], from - range.lowerBound, to - from) }
            index += 1
        }
    }

    /// Copies `range` of the concatenated gradients into `target`.
    private func packGradients(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>) {
        forEachPart(of: range) { index, offset, position, count in
            modelParameters[index].grad?.withUnsafePointer { (target + position).update(from: $0 + offset, count: count) }
        }
    }

    /// Sends the gradients of this round's micro-batch to their owners and adds what this process owns onto its
    /// sum, in rank order. Ranks `0..<contributors` computed a micro-batch this round (the last round of an
    /// epoch may have fewer); the others only receive. Drops the parameters' gradients.
    /// - Throws: ``CommunicationError`` when a peer does not answer, or ``CommunicationError/invalid(_:)`` for a
    ///   parameter without a gradient (every parameter must get one from every micro-batch).
    public func reduceGradients(round: Int, contributors: Int) throws(CommunicationError) {
        let start = monotonicSeconds()
        defer { timing.reduceScatter += monotonicSeconds() - start }
        let contributing = rank < contributors
        if contributing {
            for parameter in modelParameters where parameter.grad?.count != parameter.count {
                throw .invalid("parameter '\(parameter.name)' got no gradient from a micro-batch: in a data-parallel run every parameter needs one")
            }
        }
        let before = communicator.bytesSent
        for index in 0..<pieces {
            let mine = piece(index, of: rank)
            var sends: [Outgoing] = []
            if contributing {
                for peer in 0..<size where peer != rank {
                    let range = piece(index, of: peer)
                    packGradients(range, into: outgoing + peer * piece)
                    sends.append(Outgoing(peer: peer, bytes: UnsafeRawBufferPointer(start: outgoing + peer * piece, count: range.count * 4)))
                }
                packGradients(mine, into: incoming + rank * piece)
            }
            let receives = (0..<contributors).filter { $0 != rank }.map { peer in
                Incoming(peer: peer, bytes: UnsafeMutableRawBufferPointer(start: incoming + peer * piece, count: mine.count * 4))
            }
            try communicator.exchange(sending: sends, receiving: receives, operation: "the gradients' reduce-scatter")
            // The sum in rank order: micro-batch round·N + r after those before it, as one process adds them.
            let target = sum + (mine.lowerBound - own.lowerBound)
            for peer in 0..<contributors {
                if round == 0 && peer == 0 {
                    target.update(from: incoming + peer * piece, count: mine.count)
                } else {
                    _ = Reductions.addCheckingFinite(incoming + peer * piece, to: target, count: mine.count)
                }
            }
        }
        timing.reduceScatterBytes += communicator.bytesSent - before
        if contributing { for parameter in modelParameters { parameter.zeroGrad() } }
    }

    /// The sums become the owned parameters' gradients (their finiteness learned on the way); every other
    /// parameter has none, so the optimizer steps only the owned ones.
    public func finishGradients() throws(OptimError) {
        for (index, parameter) in modelParameters.enumerated() {
            parameter.zeroGrad()
            guard plan.owned[rank].contains(index), parameter.count > 0 else { continue }
            try parameter.accumulateGrad(UnsafeBufferPointer(start: sum + (plan.starts[index] - own.lowerBound),
                                                             count: parameter.count))
        }
    }

    /// ``Optim/clipGradNorm(_:maxNorm:normType:errorIfNonfinite:)`` over every process's gradients, `order` being
    /// the order one process passes the parameters in: the same total, the same coefficient, the same bits.
    @discardableResult
    public func clipGradNorm(_ order: [Parameter], maxNorm: Double) throws -> Float {
        let owners = try order.map { parameter throws(CommunicationError) in
            guard let position = positions[ObjectIdentifier(parameter)] else {
                throw .invalid("clipping a parameter that is not the model's: '\(parameter.name)'")
            }
            return plan.owner(of: position)
        }
        let counts = (0..<size).map { rank in owners.count { $0 == rank } }
        return try Optim.clipGradNorm(order, maxNorm: maxNorm, gatheringNorms: { local in
            // Each process's norms of its own parameters, in `order`; an owned parameter always has a gradient.
            let mine = zip(local, owners).compactMap { norm, owner in owner == rank ? norm ?? 0 : nil }
            let all = try communicator.allGather(mine, counts: counts, operation: "the gradient norms' all-gather")
            var next = counts.reduce(into: [0]) { $0.append($0.last! + $1) }
            return owners.map { owner in
                defer { next[owner] += 1 }
                return all[next[owner]]
            }
        })
    }

    /// The non-finite policy decided once for all processes, the step of the owned parameters, and the
    /// all-gather of their new values. A skipped step is skipped everywhere (and gathers nothing); with
    /// ``Optim/NonFiniteGradientPolicy/throw`` every process throws, naming the parameter one process would.
    public func step() throws {
        let start = monotonicSeconds()
        let order = optimizer.parameters
        var skipped = false
        if optimizer.nonFiniteGradients != .propagate {
            let mine = order.firstIndex { $0.hasGradient && !$0.gradientIsFinite() } ?? -1
            let firsts = try communicator.allGather(Int64(mine), operation: "the non-finite check")
            if let first = firsts.filter({ $0 >= 0 }).min() {
                if optimizer.nonFiniteGradients == .throw { throw OptimError.nonFiniteGradient(name: order[Int(first)].name) }
                // This process's optimizer skips as one process's would: it counts the skip and changes nothing.
                if mine < 0 { order.first { $0.hasGradient }?.setGradientFiniteness(false) }
                skipped = true
            }
        }
        try optimizer.step()
        timing.step += monotonicSeconds() - start
        if !skipped { try gatherParameters() }
    }

    /// Every owner's values to every process, piece by piece.
    private func gatherParameters() throws(CommunicationError) {
        let start = monotonicSeconds()
        defer { timing.allGather += monotonicSeconds() - start }
        let before = communicator.bytesSent
        let peers = (0..<size).filter { $0 != rank }
        for index in 0..<pieces {
            let mine = piece(index, of: rank)
            forEachPart(of: mine) { parameter, offset, position, count in
                modelParameters[parameter].values.withUnsafePointer { (outgoing + position).update(from: $0 + offset, count: count) }
            }
            try communicator.exchange(
                sending: peers.map { Outgoing(peer: $0, bytes: UnsafeRawBufferPointer(start: outgoing, count: mine.count * 4)) },
                receiving: peers.map { peer in
                    Incoming(peer: peer, bytes: UnsafeMutableRawBufferPointer(start: incoming + peer * piece,
                                                                                 count: piece(index, of: peer).count * 4))
                },
                operation: "the parameters' all-gather")
            for peer in peers {
                forEachPart(of: piece(index, of: peer)) { parameter, offset, position, count in
                    modelParameters[parameter].values.withUnsafeMutableBufferPointer {
                        ($0.baseAddress! + offset).update(from: incoming + peer * piece + position, count: count)
                    }
                }
            }
        }
        timing.allGatherBytes += communicator.bytesSent - before
    }

    /// Every process's micro-batch values (losses), `perRank` each, in micro-batch order (round by round, rank
    /// by rank within a round): the order one process computes them in.
    public func gatherInMicroBatchOrder(_ local: [Double], perRank: Int) throws -> [Double] {
        let all = try communicator.allGather(local, counts: Array(repeating: perRank, count: size),
                                             operation: "the losses' all-gather")
        return (0..<perRank).flatMap { round in (0..<size).map { all[$0 * perRank + round] } }
    }

    // MARK: - State

    /// The optimizer state one process would have (collective: every process calls it). Rank 0 gets the whole
    /// state, gathered from every shard; the others get their own shard, which is not a run's state.
    public func stateDict() throws -> StateDict {
        let local = try optimizer.stateDict()
        // Under a prefix: a checkpoint file keeps some top-level names (its format) for itself.
        let bytes = try CheckpointFile.encode(StateDict().merging(local, prefix: "shard."))
        guard let all = try communicator.gatherToFirst(bytes, operation: "gathering the optimizer state") else {
            return local
        }
        var shards = [local]
        // A rank that owns no tensor has no state to give (and its skip count is not kept).
        for (rank, shard) in all.enumerated().dropFirst() where !plan.owned[rank].isEmpty {
            shards.append(try shard.withUnsafeBytes { bytes throws(SafeTensorsError) in
                try CheckpointFile.decode(bytes)
            }.scoped("shard."))
        }
        return try StateDict.mergingOptimizerShards(shards)
    }

    /// Loads this process's part of a whole optimizer state (saved by one process or gathered by
    /// ``stateDict()`` on any number of them).
    public func load(stateDict state: StateDict) throws(StateMismatch) {
        let kept = Set(plan.owned[rank].map { modelParameters[$0].name })
        try optimizer.load(stateDict: state.optimizerShard(keeping: kept, of: modelParameters.map(\.name)))
    }

    /// The bytes of optimizer state this process holds (buffers and scales): its own parameters' only.
    public var stateBytes: Int { optimizer.stateByteCount(of: modelParameters) }
}

/// A ZeRO-1 optimizer is an optimizer: its step, state dict and load are the collective ones above, and everything
/// else is the wrapped optimizer's (its groups, schedules, policy and skip count are the same on every process).
extension ShardedOptimizer: Optimizer {
    public var name: String { optimizer.name }
    public var parameters: [Parameter] { optimizer.parameters }

    public var nonFiniteGradients: NonFiniteGradientPolicy {
        get { optimizer.nonFiniteGradients }
        set { optimizer.nonFiniteGradients = newValue }
    }

    public var skippedSteps: Int { optimizer.skippedSteps }

    public var groupSchedules: [GroupSchedule] {
        get { optimizer.groupSchedules }
        set { optimizer.groupSchedules = newValue }
    }

    public func zeroGrad(setToNone: Bool) { optimizer.zeroGrad(setToNone: setToNone) }

    public var mode: OptimizerMode { optimizer.mode }

    /// Moves the owned parameters to their train values and gathers everyone's (nothing without modes).
    public func train() throws { try changeMode { try optimizer.train() } }

    /// Moves the owned parameters to their eval values and gathers everyone's (nothing without modes).
    public func eval() throws { try changeMode { try optimizer.eval() } }

    /// Each process moves the parameters it owns (the only ones with state), then every process gathers the
    /// owners' values; the mode is the same on every process, so all of them gather or none does.
    private func changeMode(_ change: () throws -> Void) throws {
        let before = optimizer.mode
        try change()
        if optimizer.mode != before { try gatherParameters() }
    }

    /// The state this process keeps for `parameter`: nil for a parameter another process owns.
    public func state(for parameter: Parameter) -> ParameterState? { optimizer.state(for: parameter) }
}
