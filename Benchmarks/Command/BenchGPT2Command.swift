import ArgumentParser
import Benchmarks
import CommandSupport
import Datasets
import Foundation
import Kernels
import NN
import Optim
import Training

struct BenchGPT2Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt2",
        abstract: "Milliseconds and tokens/s of a GPT-2 small (124M) fine-tuning step, and the run's peak resident memory.",
        discussion: """
            The step of `adamw gpt train --tokenizer gpt2`: a random GPT-2 small (GPT2Config(): 12 layers, 12 heads, \
            768 wide, 1024 positions, no dropout), batches of --batch-size windows of --context GPT-2 tokens of Tiny \
            Shakespeare, AdamW (lr 1e-4, weight decay 0.1 on matrices, the recipe's betas), clipping at 1. Two \
            warm-up steps, then the median of --steps; the peak resident memory (VmHWM) is the whole process's. \
            Benchmarks/gpt2-finetune-against-pytorch.sh runs PyTorch's eager step on the same shapes beside it.
            """
    )

    @Option(help: "Sequences per step (default 4).")
    var batchSize = 4

    @Option(help: "Tokens per sequence (default 64).")
    var context = 64

    @Option(help: "Timed steps (default 10).")
    var steps = 10

    @Option(help: "The optimizer's state storage: fp32, bf16, int8 or int4 (default fp32).")
    var states = "fp32"

    @Option(help: "Threads (default: every processor).")
    var threads: Int?

    func validate() throws {
        guard (1...64).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 64, got \(batchSize)") }
        guard (1...1024).contains(context) else { throw ValidationError("--context must be between 1 and 1024, got \(context)") }
        guard (1...1000).contains(steps) else { throw ValidationError("--steps must be between 1 and 1000, got \(steps)") }
        try ThreadsOption.check(threads)
    }

    func run() throws {
        var recipe = GPTRecipe()
        let small = HuggingFaceGPT2.small
        (recipe.layers, recipe.heads, recipe.embedding, recipe.positions) = (small.layers, small.heads, small.embedding, small.blockSize)
        (recipe.bias, recipe.gelu, recipe.context, recipe.batchSize) = (true, small.gelu, context, batchSize)
        (recipe.warmup, recipe.decayIterations) = (0, 1 << 30)
        do {
            recipe.optimizer = try OptimizerChoice(.adamw, settings: ["lr": "1e-4", "betas": "0.9,0.99", "weight_decay": "0.1", "states": states])
        } catch {
            throw ValidationError("--states: \(error)")
        }
        let corpus: TextCorpus
        do {
            corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare, tokenizer: .gpt2(GPT2Tokenizer(directory: GPT2Tokenizer.bundledDirectory)))
        } catch {
            throw Refusal("\(error)")
        }
        try ThreadsOption.run(threads) {
            let run = try GPTRun(recipe: recipe, corpus: corpus)
            for _ in 0..<2 { try run.step() }
            let before = run.timing
            var times: [Double] = []
            for _ in 0..<steps {
                let start = monotonicSeconds()
                try run.step()
                times.append(monotonicSeconds() - start)
            }
            let median = times.sorted()[times.count / 2]
            let per = { (total: Double, warm: Double) in (total - warm) * 1000 / Double(steps) }
            let tokens = Double(batchSize * context)
            let peak = MemoryAccount.resident()?.peak
            print("adamw gpt2-small B=\(batchSize) T=\(context) threads=\(ThreadPool.machine.threadCount) states=\(states): "
                  + "step_ms=\(format(median * 1000, 1)) tokens_per_s=\(format(tokens / median, 0)) "
                  + "forward_ms=\(format(per(run.timing.forward, before.forward), 1)) "
                  + "backward_ms=\(format(per(run.timing.backward, before.backward), 1)) "
                  + "optimizer_ms=\(format(per(run.timing.step, before.step), 1)) "
                  + "peak_rss_mb=\(peak.map { format(Double($0) / 1_048_576, 1) } ?? "-")")
        }
    }
}
