import ArgumentParser
import CommandSupport
import DataParallel
import Datasets
import Experiments
import Foundation
import Kernels
import Optim
import Training

/// `adamw bench distributed`, under `mpirun -np N` (or alone, as one process): where a data-parallel GPT step's
/// time goes, what each rank sends, and how much optimizer state each keeps.
struct BenchDistributedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract: "Time a ZeRO-1 data-parallel GPT step (run it under mpirun -np N): compute, reduce-scatter, optimizer step, all-gather.",
        discussion: """
            Trains the GPT recipe (one micro-batch a process, so N processes train N micro-batches a step) for \
            --warmup untimed and --iters timed iterations, then prints per step the milliseconds of each phase \
            (rank 0's, and the slowest rank's total), the bytes each rank sent against ZeRO-1's 2·(N−1)/N of the \
            parameters' bytes (the summary's sent_bytes_per_step is the ranks' mean), and each rank's \
            optimizer-state bytes against one process's. comm_gbytes_per_s is rank 0's bytes over its \
            reduce-scatter and all-gather time, packing and summing included.
            """
    )

    @Option(parsing: .unconditional, help: "Timed iterations (default 20).")
    var iters = 20

    @Option(parsing: .unconditional, help: "Untimed iterations first (default 3).")
    var warmup = 3

    @Option(help: "Optimizer state storage: fp32, bf16, int8 or int4 (default fp32).")
    var states: StateStorage = .float32

    @Option(parsing: .unconditional, help: "Transformer blocks (default 4, the recipe's).")
    var layers: Int?

    @Option(parsing: .unconditional, help: "Embedding width (default 128, the recipe's).")
    var embedding: Int?

    @Option(parsing: .unconditional, help: "Threads a process (default: the processors divided among the processes).")
    var threads: Int?

    @Option(parsing: .unconditional, help: "Seconds a process waits for another before the job ends (default 60).")
    var peerTimeout: Double?

    func validate() throws {
        guard (1...100_000).contains(iters) else { throw ValidationError("--iters must be between 1 and 100000, got \(iters)") }
        guard (0...100_000).contains(warmup) else { throw ValidationError("--warmup must be between 0 and 100000, got \(warmup)") }
        try ThreadsOption.check(threads)
        try ParallelLaunch.checkTimeout(peerTimeout)
        _ = try recipe(ranks: 1)
    }

    private func recipe(ranks: Int) throws -> GPTRecipe {
        var recipe = try GPTRecipe(optimizer: .adamw, given: ["states": states.rawValue])
        recipe.layers = layers ?? recipe.layers
        recipe.embedding = embedding ?? recipe.embedding
        recipe.accumulate = ranks
        recipe.decayIterations = warmup + iters
        try GPTTrainCommand.check(recipe)
        return recipe
    }

    func run() throws {
        try ParallelLaunch.run(threads: threads, timeout: peerTimeout) { communicator in try measure(communicator) }
    }

    private func measure(_ communicator: (any Communicator)?) throws {
        let ranks = communicator?.size ?? 1, rank = communicator?.rank ?? 0
        let corpus: TextCorpus
        do {
            corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare)
        } catch {
            throw Refusal("\(error)")
        }
        let run = try GPTRun(recipe: try recipe(ranks: ranks), corpus: corpus, communicator: communicator)
        try RunFlags.requireAgreement([("--iters", iters), ("--warmup", warmup)], iteration: 0, weights: run.parameters,
                                      save: nil, metricsOut: nil, communicator: communicator)
        for _ in 0..<warmup { try run.step() }
        let timing = run.timing, sharded = run.sharding?.timing ?? .init(), train = run.trainSeconds
        for _ in 0..<iters { try run.step() }
        let after = run.sharding?.timing ?? .init()
        let perStep = { (seconds: Double) in seconds * 1000 / Double(iters) }
        let reduce = perStep(after.reduceScatter - sharded.reduceScatter)
        let gather = perStep(after.allGather - sharded.allGather)
        // ShardedOptimizer's step time is the non-finite check and the optimizer step; GPTRun's includes clipping
        // and the all-gather, which is reported on its own.
        let update = perStep(run.timing.step - timing.step) - gather
        let compute = perStep(run.timing.forward - timing.forward + run.timing.backward - timing.backward)
        let total = perStep(run.trainSeconds - train)
        let sent = Double(after.reduceScatterBytes + after.allGatherBytes - sharded.reduceScatterBytes - sharded.allGatherBytes)
            / Double(iters)
        let parameterBytes = run.parameters.reduce(0) { $0 + $1.count } * 4
        // A rank's optimizer keeps state only for the parameters it owns.
        let stateBytes = run.optimizer.stateByteCount(of: run.parameters)
        let perRank: [Double] = [total, Double(stateBytes), sent]
        let all = try communicator.map { try $0.allGather(perRank, counts: Array(repeating: 3, count: ranks),
                                                           operation: "the benchmark's figures") } ?? perRank
        guard rank == 0 else { return }
        let totals = stride(from: 0, to: all.count, by: 3).map { all[$0] }
        let states = stride(from: 1, to: all.count, by: 3).map { all[$0] }
        let sends = stride(from: 2, to: all.count, by: 3).map { all[$0] }
        let oneProcess = states.reduce(0, +)
        let meanSent = sends.reduce(0, +) / Double(ranks)
        let zero1 = 2 * Double(ranks - 1) / Double(ranks) * Double(parameterBytes)
        let threadCount = ThreadPool.current.threadCount
        print("distributed GPT: \(ranks) process\(ranks == 1 ? "" : "es") x \(threadCount) thread\(threadCount == 1 ? "" : "s"), "
              + "\(run.parameters.reduce(0) { $0 + $1.count }) parameters (\(parameterBytes) B), states \(self.states.rawValue), "
              + "\(iters) iterations after \(warmup)")
        print("rank 0 per step: compute \(format(compute, 2)) ms, reduce-scatter \(format(reduce, 2)) ms, optimizer step "
              + "\(format(update, 2)) ms, all-gather \(format(gather, 2)) ms; step \(format(total, 2)) ms "
              + "(slowest rank \(format(totals.max() ?? total, 2)) ms)")
        for (index, bytes) in states.enumerated() {
            print("rank \(index): optimizer state \(Int(bytes)) B = \(format(oneProcess > 0 ? bytes / oneProcess : 1, 3)) of one process's "
                  + "\(Int(oneProcess)) B (even share \(format(1 / Double(ranks), 3))); sent \(Int(sends[index])) B a step")
        }
        let tokens = Double(ranks * run.recipe.batchSize * run.recipe.context) / ((totals.max() ?? total) / 1000)
        let bandwidth = reduce + gather > 0 ? sent / ((reduce + gather) / 1000) / 1e9 : 0
        print("summary job=bench_distributed ranks=\(ranks) threads=\(threadCount) states=\(self.states.rawValue) "
              + "params=\(run.parameters.reduce(0) { $0 + $1.count }) step_ms=\(format(total, 3)) tokens_per_s=\(Int(tokens)) "
              + "compute_ms=\(format(compute, 3)) reduce_scatter_ms=\(format(reduce, 3)) optimizer_ms=\(format(update, 3)) "
              + "all_gather_ms=\(format(gather, 3)) sent_bytes_per_step=\(Int(meanSent)) zero1_bytes_per_step=\(Int(zero1)) "
              + "sent_ratio=\(format(zero1 > 0 ? meanSent / zero1 : 1, 3)) comm_gbytes_per_s=\(format(bandwidth, 2)) "
              + "state_bytes_one_process=\(Int(oneProcess)) state_bytes_max_rank=\(Int(states.max() ?? 0)) "
              + "state_share_max=\(format(oneProcess > 0 ? (states.max() ?? 0) / oneProcess : 1, 3))")
    }
}
