import ArgumentParser
import Checkpoints
import CommandSupport
import DataParallel
import Datasets
import Experiments
import Foundation
import NN
import Optim
import Training

/// `adamw gpt` (`adamw gpt train`): nanoGPT's character-level Tiny Shakespeare recipe (its README's CPU run) with
/// the model, optimizer and schedule of this package: every option of the recipe, checkpoints that resume
/// bit-exactly, a metrics log, evaluation lines, a sample and a summary.
struct GPTTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train nanoGPT's character-level model on Tiny Shakespeare (its CPU recipe), then sample from it.",
        discussion: """
            The defaults are nanoGPT's CPU recipe: 4 layers, 4 heads, 128 wide, context 64, no bias, no dropout, \
            tied embedding; batches of 12 at seeded offsets; AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on \
            tensors of 2 or more dimensions; a linear warm-up over 100 iterations, then cosine to 1e-4 at \
            --lr-decay-iters; gradients clipped to norm 1. Prints the train and validation loss every \
            --eval-interval iterations (means over 20 fixed batches), a 300-character sample, and a summary whose \
            val_loss is the mean over the whole validation split cut into consecutive blocks of the context. With \
            --save it writes a checkpoint at every evaluation; --resume continues one, with its recipe, to --iters. \
            --from-pretrained fine-tunes a Hugging Face GPT-2 folder instead, on the text in its BPE, and \
            --tokenizer gpt2 trains a random GPT-2 small on GPT-2's BPE.
            """
    )

    @Option(parsing: .unconditional, help: "Train until this many iterations are done (default 2000; with --resume, the saved --lr-decay-iters).")
    var iters: Int?

    @Option(parsing: .unconditional, help: "Transformer blocks (n_layer, default 4).")
    var layers: Int?

    @Option(parsing: .unconditional, help: "Attention heads (n_head, default 4).")
    var heads: Int?

    @Option(parsing: .unconditional, help: "Embedding width (n_embd, default 128; a multiple of --heads).")
    var embedding: Int?

    @Option(parsing: .unconditional, help: "Context length (block_size, default 64).")
    var context: Int?

    @Option(parsing: .unconditional, help: "Sequences per micro-batch (default 12).")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Micro-batches per step (gradient_accumulation_steps, default 1; under mpirun, one a process, and a multiple of the processes).")
    var accumulate: Int?

    @Option(help: "The optimizer: \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ")) (default adamw).")
    var optimizer: OptimizerKind?

    @OptionGroup(title: "Optimizer options (the recipe's: lr 0.001, betas 0.9,0.99, weight decay 0.1; the rest the optimizer's defaults)")
    var optimizerFlags: OptimizerFlags

    @Option(parsing: .unconditional, help: "Learning rate at the end of the cosine (default 0.0001).")
    var minLR: Double?

    @Option(parsing: .unconditional, help: "Iterations of linear warm-up (default 100).")
    var warmup: Int?

    @Option(parsing: .unconditional, help: "The iteration at which the cosine reaches --min-lr (lr_decay_iters; default --iters).")
    var lrDecayIters: Int?

    @Option(parsing: .unconditional, help: "Dropout on the embeddings, attention weights and residual projections (default 0).")
    var dropout: Double?

    @Flag(help: "Biases in the Linears and LayerNorms.")
    var bias = false

    @Flag(help: "An output layer of its own instead of the token embedding (untied).")
    var noTie = false

    @Flag(help: "Weight decay on every parameter, LayerNorm weights and biases included (for comparison).")
    var decayAll = false

    @Option(parsing: .unconditional, help: "Clip the gradients' total norm to this (default 1; 0: no clipping).")
    var clipNorm: Double?

    @Option(parsing: .unconditional, help: "Seed of initialization, dropout, batches and the sample (default 1337).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Evaluate (and save) every this many iterations (default 250).")
    var evalInterval = 250

    @Option(help: "A UTF-8 text to train on instead of Tiny Shakespeare (its characters become the vocabulary, unless the run reads GPT-2's BPE).")
    var data: String?

    @Option(help: "Start from the model of this checkpoint (adamw gpt --save) and fine-tune it: a new run, with a new optimizer and schedule, on --data in the checkpoint's vocabulary; the model's shape is the checkpoint's.")
    var initFrom: String?

    @Option(help: "Fine-tune a Hugging Face GPT-2 folder (config.json, model.safetensors, vocab.json, merges.txt, as save_pretrained writes or the Hub holds): the model is its config's and weights, the text is read in its BPE, and --context (default 64) may be up to its n_positions.")
    var fromPretrained: String?

    @Option(help: "How the text becomes tokens: characters (the default: nanoGPT's shakespeare_char), gpt2 (GPT-2's BPE from Data/gpt2, with a random GPT-2 small: 12 layers, 12 heads, 768 wide, 1024 positions, biases, gelu_new; the shape flags change it), or a folder holding a vocab.json and merges.txt. With --from-pretrained, its folder's by default; with --resume, where a BPE checkpoint's files are (default Data/gpt2).")
    var tokenizer: String?

    @Option(help: "At the end, write the model as a Hugging Face GPT-2 folder (config.json, model.safetensors and the tokenizer's files) that transformers' GPT2LMHeadModel.from_pretrained loads; runs of GPT-2's BPE only. The folder must be new, empty, or hold only those files.")
    var savePretrained: String?

    @OptionGroup var control: RunControlOptions<EvaluationUnit>

    /// The flags that are not part of the recipe: how long, where it reads and writes, how it shows progress.
    private static let runControls: Set<String> = ["iters", "evalInterval", "data", "initFrom", "fromPretrained", "tokenizer", "savePretrained"]
    /// The recipe's flags that shape the model: with --init-from the model is the checkpoint's.
    private static let modelFlags: Set<String> = ["layers", "heads", "embedding", "context", "bias", "noTie"]
    static let defaultIterations = 2000
    static let sampleCharacters = 300

    /// The recipe's flags given on the command line (refused with --resume).
    private var givenRecipeFlags: [String] {
        RunFlags.given(in: self, runControls: Self.runControls, resuming: control.resume != nil).map(\.flag)
    }

    /// The tokenizer's folder for GPT-2's BPE (`--tokenizer gpt2` or a folder; the --from-pretrained folder's by
    /// default), nil for characters.
    var bytePairFolder: String? {
        switch tokenizer {
        case "characters": nil
        case nil: fromPretrained
        case let value?: GPT2Tokenizer.directory(named: value)
        }
    }

    func validate() throws {
        if let iters, !(1...(1 << 40)).contains(iters) {
            throw ValidationError("--iters must be between 1 and \(1 << 40), got \(iters)")
        }
        guard evalInterval >= 1 else { throw ValidationError("--eval-interval must be at least 1, got \(evalInterval)") }
        if fromPretrained != nil && tokenizer == "characters" {
            throw ValidationError("--tokenizer characters cannot be given with --from-pretrained: a GPT-2 reads GPT-2's BPE")
        }
        if fromPretrained != nil && initFrom != nil {
            throw ValidationError("--from-pretrained and --init-from cannot be given together: each names the model to start from")
        }
        if initFrom != nil && tokenizer != nil {
            throw ValidationError("--tokenizer cannot be given with --init-from: the run reads the checkpoint's characters")
        }
        if control.resume != nil {
            if fromPretrained != nil {
                throw ValidationError("--from-pretrained cannot be given with --resume: the resumed checkpoint holds the model")
            }
            if let first = givenRecipeFlags.first {
                throw ValidationError("\(first) cannot be given with --resume: the run continues with the recipe saved in the checkpoint")
            }
            if initFrom != nil {
                throw ValidationError("--init-from cannot be given with --resume: the resumed checkpoint holds the model")
            }
            return
        }
        if initFrom != nil || fromPretrained != nil {
            let given = RunFlags.given(in: self, runControls: Self.runControls, resuming: false)
            let shaping = fromPretrained != nil ? Self.modelFlags.subtracting(["context"]) : Self.modelFlags
            if let model = given.first(where: { shaping.contains($0.property) }) {
                throw ValidationError(initFrom != nil ? "\(model.flag) cannot be given with --init-from: the model's shape is the checkpoint's"
                                      : "\(model.flag) cannot be given with --from-pretrained: the model's shape is its config.json's")
            }
            _ = try recipe()  // the model's checks wait for the checkpoint's shape
            return
        }
        if bytePairFolder != nil {
            _ = try recipe(gpt2: true)  // the model's checks wait for the tokenizer's vocabulary
            return
        }
        try Self.check(try recipe())
    }

    /// The recipe the flags make; with `pretrained`, the model's shape is that configuration's (and, from a Hugging
    /// Face folder, `context` may be shorter than its positions); with `gpt2`, the shape flags default to GPT-2
    /// small's and the model has GPT-2's biases, gelu_new and 1024 positions.
    func recipe(pretrained: GPT.Configuration? = nil, fromFolder: Bool = false, gpt2: Bool = false) throws -> GPTRecipe {
        let kind = optimizer ?? .adamw
        var recipe = GPTRecipe()
        recipe.optimizer = try optimizerFlags.choice(for: kind, over: GPTRecipe.recipeOptimizerOptions)
        recipe.layers = layers ?? recipe.layers
        recipe.heads = heads ?? recipe.heads
        recipe.embedding = embedding ?? recipe.embedding
        recipe.context = context ?? recipe.context
        recipe.batchSize = batchSize ?? recipe.batchSize
        recipe.accumulate = accumulate ?? ParallelLaunch.defaultAccumulate
        recipe.minLR = minLR ?? recipe.minLR
        recipe.warmup = warmup ?? recipe.warmup
        recipe.decayIterations = lrDecayIters ?? iters ?? Self.defaultIterations
        recipe.dropout = dropout ?? recipe.dropout
        recipe.bias = bias
        recipe.tiedEmbedding = !noTie
        recipe.training.decay = decayAll ? .all : .exceptBiasesAndNorms
        if let clipNorm {
            guard clipNorm.isFinite, clipNorm >= 0 else {
                throw ValidationError("--clip-norm must be a positive number (0: no clipping), got \(clipNorm)")
            }
            recipe.clipNorm = clipNorm == 0 ? nil : clipNorm
        }
        recipe.seed = seed ?? recipe.seed
        if gpt2 {
            let small = HuggingFaceGPT2.small
            (recipe.layers, recipe.heads, recipe.embedding) = (layers ?? small.layers, heads ?? small.heads, embedding ?? small.embedding)
            (recipe.bias, recipe.gelu, recipe.layerNormEpsilon) = (true, small.gelu, small.layerNormEpsilon)
            recipe.positions = max(small.blockSize, recipe.context)
        }
        if let pretrained {
            (recipe.layers, recipe.heads, recipe.embedding) = (pretrained.layers, pretrained.heads, pretrained.embedding)
            (recipe.context, recipe.bias, recipe.tiedEmbedding) = (pretrained.blockSize, pretrained.bias, pretrained.tiedEmbedding)
            (recipe.gelu, recipe.layerNormEpsilon) = (pretrained.gelu, pretrained.layerNormEpsilon)
            if fromFolder {
                // A Hugging Face GPT-2 trains on windows of --context (default 64) of its n_positions, with its
                // config's dropout unless --dropout is given.
                recipe.context = min(context ?? GPTRecipe().context, pretrained.blockSize)
                recipe.positions = pretrained.blockSize > recipe.context ? pretrained.blockSize : nil
                recipe.dropout = dropout ?? pretrained.dropout
                if let context, context > pretrained.blockSize {
                    throw ValidationError("--context must be at most the model's n_positions (\(pretrained.blockSize)), got \(context)")
                }
            }
        }
        return recipe
    }

    /// The recipe's values, from the flags or a checkpoint, each named by its flag with its range, and the memory
    /// its model takes with a vocabulary of `vocabularySize` characters (before the text is read, a byte's 256).
    static func check(_ recipe: GPTRecipe, maximumContext: Int? = nil, vocabularySize: Int = 256) throws {
        do {
            try recipe.check(maximumContext: maximumContext)
        } catch .invalidArgument(let name, let value, let reason) {
            throw ValidationError("\(name) \(reason), got \(value)")
        } catch {
            throw ValidationError("\(error)")
        }
        // Weights, gradients and up to three state buffers, and a decay reference; per micro-batch the activations
        // of every layer and the attention weights (with their dropout masks), and the logits with their softmax
        // and gradient.
        let bytesPerWeight = recipe.optimizer.text(of: "decay_to").map { $0 != WeightDecayTarget.zero.rawValue } == true ? 24 : 20
        let weights = GPTCheckpoint.parameterCount(recipe.configuration(vocabularySize: vocabularySize))
            .flatMap { MemoryLimit.product([$0, bytesPerWeight]) }
        let perToken = MemoryLimit.product([recipe.embedding, 40]).flatMap { activations in
            MemoryLimit.product([recipe.heads, recipe.context, 3]).map { activations + $0 }
        }
        let activations = perToken.flatMap { MemoryLimit.product([$0, recipe.layers, recipe.batchSize, recipe.context, 4]) }
        let logits = MemoryLimit.product([vocabularySize, recipe.batchSize, recipe.context, 12])
        let total = weights.flatMap { w in activations.flatMap { a in logits.map { w + a + $0 } } }
        try MemoryLimit.require("--layers/--embedding/--context/--batch-size",
                                "\(recipe.layers)/\(recipe.embedding)/\(recipe.context)/\(recipe.batchSize)",
                                needs: total, for: "the model (vocabulary of \(vocabularySize)), its optimizer state and one micro-batch's activations")
    }

    func run() throws {
        try ParallelLaunch.run(threads: control.threads, timeout: control.peerTimeout) { communicator in try train(communicator) }
    }

    private func train(_ communicator: (any Communicator)?) throws {
        // In a data-parallel run every rank trains; rank 0 alone writes files (every rank takes part in
        // gathering a checkpoint's optimizer state).
        let writes = (communicator?.rank ?? 0) == 0
        let textPath = data ?? TextCorpus.tinyShakespeare
        // Before any work: what the run writes is neither what it reads nor unwritable.
        let textInput = (data != nil ? "--data" : "the text (Tiny Shakespeare)", textPath)
        var inputs = [textInput] + (initFrom.map { [("--init-from", $0)] } ?? [])
        if let fromPretrained { inputs += ["config.json", "model.safetensors"].map { ("--from-pretrained", fromPretrained + "/" + $0) } }
        if let folder = bytePairFolder { inputs += ["vocab.json", "merges.txt"].map { ("--tokenizer", folder + "/" + $0) } }
        let savePath = try RunFlags.checkOutputs(save: control.save, resume: control.resume, metricsOut: control.metricsOut,
                                                 inputs: inputs, writes: writes)
        if let savePretrained, writes {
            // The run's own files are not to be replaced by the export either.
            let own = [("--save", control.save), ("--resume", control.resume), ("--metrics-out", control.metricsOut)]
                .compactMap { flag, path in path.map { (flag: flag, path: $0) } }
            try Self.checkPretrainedFolder(savePretrained, inputs: inputs + own)
        }
        var checkpoint: StateDict?
        if let resume = control.resume { checkpoint = try RunFlags.readCheckpoint(resume, flag: "--resume") }
        // A model to fine-tune: its shape and weights, and the vocabulary or BPE the text is read in.
        var pretrained: (state: StateDict, configuration: GPT.Configuration)?
        var tokenization: TextTokenizer?
        var inSaved: TextCorpus?
        if let initFrom {
            let state = try RunFlags.readCheckpoint(initFrom, flag: "--init-from")
            do {
                let (configuration, saved) = try GPTCheckpoint.configuration(in: state)
                guard case .characters(let vocabulary) = saved else {
                    throw Refusal("--init-from \(initFrom) is a checkpoint of GPT-2's BPE: write its model with --save-pretrained and fine-tune that folder with --from-pretrained")
                }
                pretrained = (state, configuration)
                tokenization = .characters(vocabulary)
            } catch {
                throw Refusal("--init-from \(initFrom): \(error)")
            }
        } else if let fromPretrained {
            do {
                let (configuration, state) = try HuggingFaceGPT2.read(directory: fromPretrained)
                pretrained = (state, configuration)
            } catch {
                throw Refusal("--from-pretrained \(error)")
            }
        }
        if let checkpoint, let resume = control.resume, let saved = try? GPTCheckpoint.configuration(in: checkpoint).1 {
            // A resumed run reads its text as it was saved: in its characters, or in the BPE of the same files.
            if case .gpt2 = saved {
                do {
                    tokenization = try saved.tokenizer(gpt2Directory: bytePairFolder ?? GPT2Tokenizer.bundledDirectory)
                } catch {
                    throw Refusal("--resume \(resume): \(error) (give the folder of its vocab.json and merges.txt with --tokenizer)")
                }
            } else if tokenizer != nil {
                throw Refusal("--tokenizer cannot be given to resume \(resume): it is a character-level checkpoint")
            } else if case .characters(let vocabulary) = saved {
                // A resumed fine-tuning run reads its text in the vocabulary it was saved with (its pretrained
                // model's); any other run's is its text's own, so this changes nothing for it.
                inSaved = try? TextCorpus(contentsOf: textPath, characters: vocabulary)
            }
        } else if tokenization == nil, let folder = bytePairFolder {
            do {
                tokenization = .gpt2(try GPT2Tokenizer(directory: folder))
            } catch {
                throw Refusal("--tokenizer \(error)")
            }
        }
        let corpus: TextCorpus
        do {
            if let inSaved {
                corpus = inSaved
            } else if let tokenization {
                corpus = try TextCorpus(contentsOf: textPath, tokenizer: tokenization)
            } else {
                corpus = try TextCorpus(contentsOf: textPath)
            }
        } catch {
            if case .unknownCharacter = error, let initFrom {
                let source = data != nil ? "--data \(textPath): " : ""
                throw Refusal("\(source)\(error) of the --init-from checkpoint \(initFrom): the text must use the model's characters")
            }
            throw Refusal(data != nil ? "--data \(error)" : "\(error)")
        }
        if savePretrained != nil, corpus.characters != nil {
            throw Refusal("--save-pretrained writes a GPT-2 folder: it needs a run of GPT-2's BPE (--from-pretrained or --tokenizer gpt2), not characters")
        }
        let recipe: GPTRecipe
        if let resume = control.resume {
            let saved: GPTRecipe?
            do {
                saved = try checkpoint.flatMap(GPTRun.recipe(in:))
            } catch {
                throw Refusal("--resume \(resume): the saved recipe is invalid: \(error)")
            }
            guard let saved else { throw Refusal("--resume \(resume): the checkpoint holds no readable GPT recipe") }
            do {
                try Self.check(saved, maximumContext: corpus.maximumContext, vocabularySize: corpus.vocabularySize)
            } catch {
                throw Refusal("--resume \(resume): the saved recipe is invalid: \(error)")
            }
            var resumed = saved
            try RunFlags.resumedStates(optimizerFlags.states, into: &resumed.optimizer)
            recipe = resumed
        } else {
            recipe = try self.recipe(pretrained: pretrained?.configuration, fromFolder: fromPretrained != nil,
                                     gpt2: pretrained == nil && corpus.characters == nil)
            guard recipe.context <= corpus.maximumContext else {
                let limit = initFrom.map { "the --init-from checkpoint \($0)'s block_size is \(recipe.context): give a longer text" }
                    ?? "--context at most \(corpus.maximumContext)"
                throw Refusal("the text is too short for a context of \(recipe.context): each split needs "
                              + "\(recipe.context + 1) \(corpus.characters != nil ? "characters" : "tokens") (\(limit))")
            }
            if let pretrained, pretrained.configuration.vocabularySize != corpus.vocabularySize {
                throw Refusal("--from-pretrained \(fromPretrained ?? ""): its vocab_size is \(pretrained.configuration.vocabularySize), its tokenizer's vocabulary \(corpus.vocabularySize)")
            }
            // The model's size depends on the text's characters, known only now.
            try Self.check(recipe, vocabularySize: corpus.vocabularySize)
        }
        let iterations = iters ?? (control.resume != nil ? recipe.decayIterations : Self.defaultIterations)
        let run: GPTRun
        do {
            run = try GPTRun(recipe: recipe, corpus: corpus, communicator: communicator, initialWeights: pretrained?.state)
        } catch let error as ExperimentError {
            throw Refusal("\(error)")
        } catch let error as StateMismatch {
            throw Refusal("\(initFrom.map { "--init-from \($0)" } ?? "--from-pretrained \(fromPretrained ?? "")"): \(error)")
        }
        pretrained = nil  // the model holds its weights now: the file's copy goes
        if let checkpoint, let resume = control.resume {
            do {
                try run.load(checkpoint)
            } catch {
                throw Refusal("--resume \(resume): \(error)")
            }
            print("Resumed from \(resume) at iteration \(run.iteration)")
        }
        try RunFlags.requireAgreement([("--iters", iterations), ("--eval-interval", evalInterval)], iteration: run.iteration,
                                      weights: run.parameters, save: savePath, metricsOut: control.metricsOut, communicator: communicator)
        let metrics = try control.metricsOut.flatMap { writes ? try MetricsLog(path: $0, continuingAt: run.iteration, key: "iter") : nil }
        guard run.iteration < iterations else {
            print("The checkpoint is already at iteration \(run.iteration); nothing to train for --iters \(iterations)")
            return
        }

        let first = run.iteration
        var bar = ProgressBar(total: iterations - first, label: "gpt", unit: "it", enabled: !control.noProgress && writes)
        var estimate = (train: Double.nan, validation: Double.nan)
        var saved = control.resume != nil ? run.iteration : nil
        while run.iteration < iterations {
            let rate = run.learningRate
            let loss = try run.step()
            bar.update(done: run.iteration - first, detail: "loss \(format(loss, 4))")
            // A diverged run stops at once: training on would only overwrite the last good checkpoint with
            // weights that are not numbers.
            guard loss.isFinite else {
                bar.finish()
                throw RunFlags.diverged(at: "iteration \(run.iteration)", loss: loss, checkpoint: savePath,
                                        saved: saved.map { "iteration \($0)" })
            }
            guard run.iteration % evalInterval == 0 || run.iteration == iterations else { continue }
            bar.finish()
            estimate = try run.estimateLosses()
            print("step \(run.iteration): train loss \(format(estimate.train, 4)), val loss \(format(estimate.validation, 4))")
            try metrics?.append(["iter": run.iteration, "train_loss": estimate.train, "val_loss": estimate.validation,
                                 "lr": rate, "skipped_steps": run.optimizer.skippedSteps,
                                 "train_seconds": run.trainSeconds])
            guard estimate.train.isFinite, estimate.validation.isFinite else {
                throw RunFlags.diverged(at: "iteration \(run.iteration)",
                                        loss: estimate.train.isFinite ? estimate.validation : estimate.train,
                                        checkpoint: savePath, saved: saved.map { "iteration \($0)" })
            }
            if let savePath {
                try RunFlags.saveCheckpoint(try run.stateDict(), to: savePath, writes: writes)
                saved = run.iteration
            }
        }
        bar.finish()
        guard writes else { return }  // the sample and the whole-split loss are rank 0's, as its output is
        // The characters after the newline the sample starts from (nanoGPT's sample.py start); a text without a
        // newline starts from its first character instead.
        let start = corpus.characters.map { $0.scalars.contains("\n") ? "\n" : $0.decode([corpus.tokens[0]]) } ?? "\n"
        let sample = try run.sample(prompt: start, characters: Self.sampleCharacters, seed: recipe.seed &+ 3)
        print(String(String.UnicodeScalarView(sample.unicodeScalars.dropFirst())))
        let validationLoss = try run.validationLoss()
        let trained = run.iteration - first
        // Where an iteration's time goes, and the FLOP/s of each pass (nanoGPT's count: the backward pass does
        // twice the forward's work).
        let perIteration = { (seconds: Double) in seconds * 1000 / Double(trained) }
        let gflops = { (share: Double, seconds: Double) in share * run.flopsPerIteration * Double(trained) / seconds / 1e9 }
        print("timing forward_ms=\(format(perIteration(run.timing.forward), 2)) "
              + "backward_ms=\(format(perIteration(run.timing.backward), 2)) step_ms=\(format(perIteration(run.timing.step), 2)) "
              + "step_share=\(format(100 * run.timing.step / run.trainSeconds, 1))% "
              + "forward_gflops=\(format(gflops(1.0 / 3, run.timing.forward), 1)) "
              + "backward_gflops=\(format(gflops(2.0 / 3, run.timing.backward), 1)) "
              + "gflop_per_iter=\(format(run.flopsPerIteration / 1e9, 3)) cpu=\(CPUPath.current.rawValue)")
        print("summary job=gpt iters=\(run.iteration) params=\(run.parameters.reduce(0) { $0 + $1.count }) "
              + "train_s=\(format(run.trainSeconds, 2)) ms_per_iter=\(format(run.trainSeconds * 1000 / Double(trained), 1)) "
              + "train_loss=\(format(estimate.train, 4)) val_loss=\(format(validationLoss, 4))")
        if !estimate.train.isFinite || !validationLoss.isFinite {
            throw Refusal("the run diverged: the loss is not finite (lower --lr, or --clip-norm)")
        }
        if let savePretrained, case .gpt2(let bpe) = corpus.tokenizer {
            // The sample and the loss above put an optimizer with modes at its eval values: those are written.
            try run.trainer.atEvaluationValues()
            do {
                try HuggingFaceGPT2.save(run.model, to: savePretrained, tokenizerFrom: bpe.directory)
            } catch {
                throw Refusal("--save-pretrained \(error)")
            }
            print("Saved the model as a Hugging Face GPT-2 folder: \(savePretrained)")
        }
    }

    /// Refuses a --save-pretrained folder that is an input's, or holds a file the export would not write.
    static func checkPretrainedFolder(_ folder: String, inputs: [(flag: String, path: String)]) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else { return }
        guard isFolder.boolValue else { throw ValidationError("--save-pretrained \(folder) is a file, not a folder") }
        let ours: Set<String> = ["config.json", "model.safetensors", "vocab.json", "merges.txt"]
        let present = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        if let other = present.sorted().first(where: { !ours.contains($0) }) {
            throw ValidationError("--save-pretrained \(folder) holds \(other), which is not a file of the export: give a new or empty folder")
        }
        for name in ours {
            let path = folder + "/" + name
            // By identity, and by name for a file not written yet (a --save that does not exist before the run).
            let named = inputs.first { URL(fileURLWithPath: $0.path).standardizedFileURL == URL(fileURLWithPath: path).standardizedFileURL }
            if let input = FileIdentity.input(among: inputs, sameAs: path) ?? named {
                throw ValidationError("--save-pretrained \(folder) would replace \(input.path), which \(input.flag) names")
            }
        }
    }
}

/// `adamw gpt`'s run is measured in iterations and saved at every evaluation.
enum EvaluationUnit: RunUnit {
    static let saveMoment = "at every evaluation"
    static let resumeUntil = "with its recipe, to --iters"
    static let record = "evaluation"
    static let checkpointNote = ", loadable by name into nanoGPT"
}
