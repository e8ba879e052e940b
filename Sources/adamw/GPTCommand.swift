import ArgumentParser
import Datasets
import Foundation
import Kernels
import NN
import Optim

/// `adamw gpt`: nanoGPT's character-level Tiny Shakespeare recipe (its README's CPU run), with the model, the
/// optimizer and the schedule of this package. A first version: the recipe with its defaults and the options below;
/// checkpoints, sampling from a checkpoint and the rest of the GPT issue's options are still to come.
struct GPTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt",
        abstract: "Train nanoGPT's character-level model on Tiny Shakespeare (its CPU recipe), then sample from it.",
        discussion: """
            4 layers, 4 heads, 128 wide, context 64, no bias, no dropout, tied embedding; batches of 12 at seeded \
            offsets; AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on tensors of 2 or more dimensions; a \
            linear warm-up over 100 iterations, then cosine to 1e-4 at the last; gradients clipped to norm 1. \
            Prints the train and validation loss every --eval-interval iterations (means over 20 fixed batches), \
            a 300-character sample, and a summary whose val_loss is the mean over the whole validation split cut \
            into consecutive blocks of the context.
            """
    )

    @Option(parsing: .unconditional, help: "Iterations (default 2000); the cosine ends at the last.")
    var iters = 2000

    @Option(parsing: .unconditional, help: "Evaluate every this many iterations (default 250).")
    var evalInterval = 250

    @Option(parsing: .unconditional, help: "Seed of initialization, batches and sampling (default 1337).")
    var seed: UInt64 = 1337

    @Option(parsing: .unconditional, help: "Threads (default: every processor).")
    var threads: Int?

    @Option(help: "A UTF-8 text to train on instead (its characters become the vocabulary).")
    var data: String?

    @Flag(help: "No progress bar.")
    var noProgress = false

    static let batchSize = 12, context = 64, warmup = 100, evalBatches = 20
    static let lr = 1e-3, minLR = 1e-4

    func validate() throws {
        guard (1...10_000_000).contains(iters) else { throw ValidationError("--iters must be between 1 and 10000000, got \(iters)") }
        guard evalInterval >= 1 else { throw ValidationError("--eval-interval must be at least 1, got \(evalInterval)") }
        try ThreadsOption.check(threads)
    }

    func run() throws {
        try ThreadsOption.run(threads) { try train() }
    }

    /// nanoGPT's `get_lr`: linear warm-up to lr over `warmup` iterations, then cosine to minLR at `iters`.
    static func learningRate(at iteration: Int, iterations: Int) -> Double {
        if iteration < warmup { return lr * Double(iteration + 1) / Double(warmup + 1) }
        guard iterations > warmup, iteration < iterations else { return minLR }
        let ratio = Double(iteration - warmup) / Double(iterations - warmup)
        return minLR + 0.5 * (1 + cos(Double.pi * ratio)) * (lr - minLR)
    }

    private func train() throws {
        let corpus: CharacterCorpus
        do {
            corpus = try CharacterCorpus(contentsOf: data ?? CharacterCorpus.tinyShakespeare)
        } catch {
            throw Refusal("\(error)")
        }
        guard corpus.maximumContext >= Self.context else {
            throw Refusal("the text is too short for a context of \(Self.context): each split needs \(Self.context + 1) characters")
        }
        let configuration = GPT.Configuration(vocabularySize: corpus.vocabulary.count, blockSize: Self.context)
        let model = withRandomGenerator(seed: seed) { GPT(configuration) }
        let parameters = model.parameters()
        let optimizer = try AdamW(WeightDecayRule.biasesAndNorms.groups(parameters, weightDecay: 0.1), lr: Self.lr,
                                  betas: (0.9, 0.99), eps: 1e-8)
        var random = RandomGenerator(seed: seed)
        var bar = ProgressBar(total: iters, label: "gpt", unit: "it", enabled: !noProgress)
        let start = monotonicSeconds()
        var lastLoss = Double.nan
        for iteration in 0..<iters {
            let rate = Self.learningRate(at: iteration, iterations: iters)
            for index in optimizer.groupSchedules.indices { optimizer.groupSchedules[index].lr = rate }
            let (inputs, targets) = corpus.batch(.train, batchSize: Self.batchSize, context: Self.context, using: &random)
            optimizer.zeroGrad()
            let loss = try model.loss(inputs, targets: targets)
            try loss.backward()
            try clipGradNorm(parameters, maxNorm: 1)
            try optimizer.step()
            lastLoss = Double(try loss.item())
            bar.update(done: iteration + 1, detail: "loss \(format(lastLoss, 4))")
            if (iteration + 1) % evalInterval == 0 || iteration + 1 == iters {
                bar.finish()
                let (train, validation) = try estimateLosses(model, corpus)
                print("step \(iteration + 1): train loss \(format(train, 4)), val loss \(format(validation, 4))")
            }
        }
        bar.finish()
        let trainSeconds = monotonicSeconds() - start
        print(try sample(model, corpus, characters: 300))
        let validationLoss = try wholeSplitLoss(model, corpus)
        print("summary job=gpt iters=\(iters) params=\(parameters.reduce(0) { $0 + $1.count }) "
              + "train_s=\(format(trainSeconds, 2)) ms_per_iter=\(format(trainSeconds * 1000 / Double(iters), 1)) "
              + "train_loss=\(format(lastLoss, 4)) val_loss=\(format(validationLoss, 4))")
        if !lastLoss.isFinite || !validationLoss.isFinite {
            throw Refusal("the run diverged: the loss is not finite")
        }
    }

    /// nanoGPT's estimate_loss: the mean loss over the same 20 batches of each split at every evaluation.
    private func estimateLosses(_ model: GPT, _ corpus: CharacterCorpus) throws -> (Double, Double) {
        try withNoGrad {
            var means: [Double] = []
            for split in [CharacterCorpus.Split.train, .validation] {
                var random = RandomGenerator(seed: seed &+ (split == .train ? 1 : 2))
                var total = 0.0
                for _ in 0..<Self.evalBatches {
                    let (inputs, targets) = corpus.batch(split, batchSize: Self.batchSize, context: Self.context,
                                                         using: &random)
                    total += Double(try model.loss(inputs, targets: targets).item())
                }
                means.append(total / Double(Self.evalBatches))
            }
            return (means[0], means[1])
        }
    }

    /// The mean loss over the whole validation split cut into consecutive, non-overlapping blocks of the context.
    private func wholeSplitLoss(_ model: GPT, _ corpus: CharacterCorpus) throws -> Double {
        let tokens = Array(corpus.tokens(of: .validation))
        let blocks = (tokens.count - 1) / Self.context
        var total = 0.0
        try withNoGrad {
            var block = 0
            while block < blocks {
                let rows = min(64, blocks - block)
                let starts = (block..<(block + rows)).map { $0 * Self.context }
                let inputs = starts.map { Array(tokens[$0..<($0 + Self.context)]) }
                let targets = starts.map { Array(tokens[($0 + 1)...($0 + Self.context)]) }
                total += Double(try model.loss(inputs, targets: targets).item()) * Double(rows)
                block += rows
            }
        }
        return total / Double(max(blocks, 1))
    }

    /// `characters` characters from a newline (nanoGPT's sample.py start), temperature 0.8, top-k 200, seeded.
    private func sample(_ model: GPT, _ corpus: CharacterCorpus, characters: Int) throws -> String {
        var random = RandomGenerator(seed: seed &+ 3)
        var tokens = [(try? corpus.encode("\n").first) ?? 0]
        try withNoGrad {
            for _ in 0..<characters {
                let window = Array(tokens.suffix(Self.context))
                let logits = try model.logits([window]).array
                let vocabulary = corpus.vocabulary.count
                let last = logits.suffix(vocabulary).map { Double($0) / 0.8 }
                // Top-k 200 keeps every character of a 65-character vocabulary; the softmax, then one draw.
                let kept = Array(last.enumerated().sorted { $0.element > $1.element }.prefix(200))
                let largest = kept.first?.element ?? 0
                let weights = kept.map { Foundation.exp($0.element - largest) }
                var draw = Double(random.next() >> 11) / Double(1 << 53) * weights.reduce(0, +)
                var choice = kept.last?.offset ?? 0
                for (candidate, weight) in zip(kept, weights) {
                    draw -= weight
                    if draw <= 0 { choice = candidate.offset; break }
                }
                tokens.append(choice)
            }
        }
        return corpus.decode(Array(tokens.dropFirst()))
    }
}
