import Datasets
import Experiments
import Foundation
import NN
import Testing
import Training

struct ExperimentPartsTests {
    @Test func meanAndSampleDeviation() {
        let value = MeanAndDeviation([1, 2, 3, 4])
        #expect(value.mean == 2.5 && value.count == 4)
        #expect(abs(value.deviation - (5.0 / 3).squareRoot()) < 1e-15)
        #expect(MeanAndDeviation([7]).deviation == 0 && MeanAndDeviation([7]).mean == 7)
        #expect(MeanAndDeviation([]).mean.isNaN)
    }

    @Test func csvQuotesOnlyWhatNeedsIt() {
        var table = CSVTable(header: ["name", "value"])
        table.append(["plain", "1e-05"])
        table.append(["a, b", #"say "hi""#])
        table.append(["two\nlines", ""])
        #expect(table.rendered == "name,value\nplain,1e-05\n\"a, b\",\"say \"\"hi\"\"\"\n\"two\nlines\",\n")
    }

    @Test func logSpacedValuesKeepTheirEnds() throws {
        let values = try Sweep.logSpaced(1e-4, 1e-1, count: 4, name: "lr")
        #expect(values.count == 4 && values[0] == 1e-4 && values[3] == 1e-1)
        #expect(abs(values[1] - 1e-3) < 1e-18 && abs(values[2] - 1e-2) < 1e-17)
        #expect(try Sweep.logSpaced(0.5, 0.5, count: 1, name: "lr") == [0.5])
        for (low, high, count) in [(0.0, 1.0, 3), (1e-3, 1e-4, 3), (1e-3, .infinity, 3), (1e-3, 1e-3, 2), (1e-3, 1e-2, 0)] {
            #expect(throws: ExperimentError.self, "\(low)…\(high) × \(count)") {
                try Sweep.logSpaced(low, high, count: count, name: "lr")
            }
        }
    }

    static func cells(_ error: (Double, Double) -> Double) -> [Sweep.Cell] {
        [1e-4, 1e-3, 1e-2].flatMap { lr in
            [1e-5, 1e-4, 1e-3, 1e-2].map { wd in
                Sweep.Cell(optimizer: "x", lr: lr, weightDecay: wd, reported: error(lr, wd), evaluationLoss: 0, trainLoss: 0)
            }
        }
    }

    /// A good region along lr·λ = 1e-6 is diagonal (slope −1); one at λ = 1e-4 for every lr is axis-aligned (0).
    @Test func theBestWeightDecaySlopeTellsDiagonalFromAxisAligned() throws {
        let diagonal = try #require(Sweep.bestWeightDecaySlope(Self.cells { lr, wd in abs(log10(lr * wd) + 6) }))
        #expect(diagonal.best.map(\.weightDecay) == [1e-2, 1e-3, 1e-4])
        #expect(abs(diagonal.slope + 1) < 1e-12)
        let aligned = try #require(Sweep.bestWeightDecaySlope(Self.cells { _, wd in abs(log10(wd) + 4) }))
        #expect(aligned.best.map(\.weightDecay) == [1e-4, 1e-4, 1e-4] && aligned.slope == 0)
        #expect(Sweep.bestWeightDecaySlope(Array(Self.cells { _, _ in 1 }.prefix(4))) == nil, "one learning rate")
    }

    /// Each contender's λ is the one of best validation accuracy, and the summaries are the seeds' figures.
    @Test func aComparisonChoosesOnValidationAndSummarizesTheSeeds() throws {
        let (train, test) = try MNIST.load()
        var options = TrainingOptions()
        options.model = .mlp
        options.hidden = [16]
        options.trainSamples = 3000
        options.batchSize = 32
        // λ = 200 with lr 1e-3 shrinks AdamW's weights by 20% a step: nothing can be learnt.
        let contender = Comparison.Contender(name: "AdamW", settings: options, weightDecays: [200, 0.01])
        let task = MNISTExperiment(train: train, test: test, epochs: 1, validationSamples: 1000)
        let outcome = try Comparison.run(task, contenders: [contender], seeds: [4, 5],
                                         runner: try ParallelRuns(jobs: 2, threadsPerJob: 1))
        #expect(outcome.selections.map(\.weightDecay) == [200, 0.01])
        let accuracies = outcome.selections.map { $0.record.accuracy ?? .nan }
        #expect(accuracies[0] < 0.5 && accuracies[1] > 0.8)
        #expect(outcome.runs.map(\.seed) == [4, 5] && outcome.runs.allSatisfy { $0.weightDecay == 0.01 })
        let summary = try #require(outcome.summaries.first)
        #expect(summary.weightDecay == 0.01)
        #expect(summary.accuracy == MeanAndDeviation(outcome.runs.compactMap { $0.record.curve.last?.accuracy }))
        #expect(summary.weightNorm == MeanAndDeviation(outcome.runs.map(\.record.weightNorm)))
        #expect(Comparison.curve(outcome.runs, contender: "AdamW", \.evaluationLoss).count == 1)
    }
}

/// The GPT experiments' texts and kinds of parameter.
struct GPTExperimentPartsTests {
    @Test func theValidationSplitIsCutIntoASelectionHalfAndAHeldOutHalf() throws {
        let corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare)
        let data = try GPTExperiment.Data(corpus, trainCharacters: 20_000)
        let validation = corpus.tokens(of: .validation)
        #expect(data.corpus.tokens(of: .train).elementsEqual(corpus.tokens(of: .train).prefix(20_000)))
        #expect(Array(data.corpus.tokens(of: .validation) + data.heldOut) == Array(validation))
        #expect(abs(data.corpus.tokens(of: .validation).count - data.heldOut.count) <= 1)
        #expect(data.corpus.characters == corpus.characters)
        #expect(throws: ExperimentError.self) { try GPTExperiment.Data(corpus, trainCharacters: 999) }
        #expect(throws: ExperimentError.self) { try GPTExperiment.Data(corpus, trainCharacters: 2_000_000) }
    }

    /// A text whose splits cannot hold the experiments' parts is refused by name, never a trap.
    @Test func aTextTooShortForTheSplitsIsRefused() throws {
        let digits = { (count: Int) in String((0..<count).map { Character(String($0 % 10)) }) }
        for (count, reason) in [(31, "training split"), (1_201, "validation split"), (1_120, "validation split")] {
            #expect(throws: ExperimentError.self, "\(count)") { try GPTExperiment.Data(try TextCorpus(text: digits(count))) }
            do {
                _ = try GPTExperiment.Data(try TextCorpus(text: digits(count)))
            } catch {
                #expect("\(error)".contains(reason), "\(count): \(error)")
            }
        }
        let fits = try GPTExperiment.Data(try TextCorpus(text: digits(1_400)))
        #expect(fits.heldOut.count > 64 && fits.corpus.tokens(of: .validation).count > 64)
        #expect(throws: ExperimentError.self) { try GPTExperiment.Data(try TextCorpus(text: digits(1_400)), context: 100) }
    }

    @Test func kindsFollowNanoGPTsNames() {
        let kinds = ["transformer.wte.weight": "embedding", "transformer.wpe.weight": "embedding", "lm_head.weight": "embedding",
                     "transformer.h.0.attn.c_attn.weight": "attention", "transformer.h.3.attn.c_proj.weight": "attention",
                     "transformer.h.1.mlp.c_fc.weight": "mlp", "transformer.h.1.mlp.c_proj.bias": "bias",
                     "transformer.h.2.ln_1.weight": "layernorm", "transformer.ln_f.weight": "layernorm",
                     "transformer.ln_f.bias": "bias"]
        for (name, kind) in kinds { #expect(GPTExperiment.kind(of: name) == kind, "\(name)") }
    }
}

/// How each task's runs are chosen between: MNIST by accuracy then loss, the GPT by loss then the smaller λ, and a
/// non-finite loss never.
struct SelectionKeyTests {
    static func record(loss: Double, accuracy: Double? = nil) -> RunRecord {
        RunRecord(curve: [], reported: 0, evaluationLoss: loss, accuracy: accuracy, heldOutLoss: nil, trainLoss: 0,
                  weightNorm: 0)
    }

    @Test func keysCompareAsTuplesDo() {
        #expect(Comparison.precedes([0.5, -2], [0.6, -3]))
        #expect(Comparison.precedes([0.5, -3], [0.5, -2]))
        #expect(!Comparison.precedes([0.5, -2], [0.5, -2]))
        #expect(!Comparison.precedes([.nan, 0], [0.5, 0]) && !Comparison.precedes([0.5, 0], [.nan, 0]))
    }

    @Test func theGPTPrefersTheLowerLossThenTheSmallerLambdaAndNeverANonFiniteOne() throws {
        let data = try GPTExperiment.Data(try TextCorpus(text: String(repeating: "abcdefghij", count: 150)))
        let task = GPTExperiment(data: data, iterations: 1, evalInterval: 1)
        let low = try #require(task.selectionKey(of: Self.record(loss: 1.0), weightDecay: 0.1))
        let high = try #require(task.selectionKey(of: Self.record(loss: 2.0), weightDecay: 0.01))
        #expect(Comparison.precedes(high, low))
        let smallerLambda = try #require(task.selectionKey(of: Self.record(loss: 1.0), weightDecay: 0.01))
        #expect(Comparison.precedes(low, smallerLambda))
        #expect(task.selectionKey(of: Self.record(loss: .nan), weightDecay: 0) == nil)
        #expect(task.selectionKey(of: Self.record(loss: .infinity), weightDecay: 0) == nil)
    }

    @Test func mnistPrefersTheHigherAccuracyThenTheLowerLoss() throws {
        let (train, test) = try MNIST.load()
        let task = MNISTExperiment(train: train, test: test, epochs: 1)
        func key(_ accuracy: Double, _ loss: Double) throws -> [Double] {
            try #require(task.selectionKey(of: Self.record(loss: loss, accuracy: accuracy), weightDecay: 0))
        }
        #expect(Comparison.precedes(try key(0.8, 0.1), try key(0.9, 0.5)))
        #expect(Comparison.precedes(try key(0.9, 0.5), try key(0.9, 0.4)))
    }
}
