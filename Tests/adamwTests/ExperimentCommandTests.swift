import Foundation
import TestSupport
import Testing

/// decay-report, compare and sweep, run small: their tables, files, figures and refusals.
struct ExperimentCommandTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("experiment-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The rows of a CSV file written by the commands (no field there holds a comma).
    static func csv(_ url: URL) throws -> [[String]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    static func svg(_ url: URL) throws -> ParsedSVG { try ParsedSVG(String(contentsOf: url, encoding: .utf8)) }

    @Test func decayReportShowsAdamL2DecayingSmallGradientsMore() throws {
        let out = try Self.folder()
        let result = try CLI.run(["decay-report", "--epochs", "1", "--hidden", "16", "--batch-size", "500",
                                  "--out", out.path, "--no-progress"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.lines.contains("layers.1.weight (12544 weights)"))
        let summary = CLI.summary(result)
        #expect(summary["job"] == "decay-report" && summary["epochs"] == "1")
        // AdamW shrinks every weight by lr·λ = 1e-5; Adam+L2 by far more, unevenly.
        #expect(Double(summary["adamw_shrink_min"] ?? "") == 1e-5 && Double(summary["adamw_shrink_max"] ?? "") == 1e-5)
        let low = Double(summary["adam_l2_shrink_min"] ?? "") ?? 0, high = Double(summary["adam_l2_shrink_max"] ?? "") ?? 0
        #expect(low > 1e-5 && high > 10 * low, "\(low)…\(high)")

        let rows = try Self.csv(out.appendingPathComponent("decay-report.csv"))
        #expect(rows.first == ["optimizer", "epoch", "parameter", "decile", "weights", "sqrt_vhat_min", "sqrt_vhat_median",
                               "sqrt_vhat_max", "shrink_median", "shrink_mean"])
        #expect(rows.count == 1 + 2 * 4 * 10, "two optimizers, four parameters, ten deciles")
        // For Adam+L2 the median shrink falls from the smallest-gradient decile to the largest.
        let first = rows.filter { $0[0] == "Adam+L2" && $0[2] == "layers.1.weight" }.compactMap { Double($0[8]) }
        #expect(first.count == 10 && first.first ?? 0 > first.last ?? .infinity)
        let figure = try Self.svg(out.appendingPathComponent("decay-report.svg"))
        #expect(figure.texts.contains("layers.3.bias") && figure.texts.contains("AdamW"))
        #expect(figure.all("title").count == 2 * 4 * 10, "one bar per optimizer, parameter and decile")
        #expect(try Self.csv(out.appendingPathComponent("decay-report-training.csv")).count == 3)
    }

    @Test func compareChoosesEachLambdaAndSummarizesTheSeeds() throws {
        let out = try Self.folder()
        let result = try CLI.run(["compare", "--epochs", "1", "--seeds", "2", "--hidden", "16", "--train-samples", "3000",
                                  "--validation-samples", "1000", "--batch-size", "32", "--adam-wd-grid", "0,1e-4",
                                  "--adamw-wd-grid", "0.01,500", "--sgd-wd-grid", "0", "--out", out.path])
        #expect(result.status == 0, "\(result.error)")
        let summary = CLI.summary(result)
        #expect(summary["job"] == "compare" && summary["seeds"] == "2")
        #expect(summary["adamw_wd"] == "0.01", "λ = 500 destroys the weights: never chosen")
        for key in ["adam_l2_accuracy", "adamw_accuracy", "sgd_accuracy"] {
            #expect((Double(summary[key] ?? "") ?? 0) > 50, "\(key)")
        }
        #expect(try Self.csv(out.appendingPathComponent("compare-selection.csv")).count == 1 + 5)
        let runs = try Self.csv(out.appendingPathComponent("compare-runs.csv"))
        #expect(runs.count == 1 + 3 * 2 && Set(runs.dropFirst().map { $0[2] }) == ["0", "1"])
        #expect(try Self.csv(out.appendingPathComponent("compare-summary.csv")).count == 4)
        let figure = try Self.svg(out.appendingPathComponent("compare.svg"))
        #expect(figure.all("polyline").count == 3 * 3, "three metrics × three optimizers")
        #expect(figure.texts.contains("Test accuracy") && figure.texts.contains("SGD λ=0"))
        // Not a terminal: one line per finished run on standard error.
        let progress = result.error.split(separator: "\n").filter { $0.hasPrefix("compare [") }
        #expect(progress.count == 5 + 6 && progress.last?.hasPrefix("compare [11/11] ") == true, "\(result.error)")
    }

    @Test func sweepDrawsOneHeatmapPerOptimizer() throws {
        let out = try Self.folder()
        let result = try CLI.run(["sweep", "--grid", "2x3", "--epochs", "1", "--hidden", "16", "--train-samples", "2000",
                                  "--batch-size", "100", "--lr-range", "1e-3,1e-2", "--decay-convention", "schedule",
                                  "--out", out.path, "--no-progress", "--jobs", "1"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.isEmpty, "--no-progress: nothing on standard error")
        let summaries = result.lines.filter { $0.hasPrefix("summary job=sweep") }
        #expect(summaries.count == 2)
        #expect(summaries.last?.contains("optimizer=adamw decay_convention=schedule cells=6") == true)
        let rows = try Self.csv(out.appendingPathComponent("sweep.csv"))
        #expect(rows.first == ["optimizer", "decay_convention", "lr", "weight_decay", "test_error", "test_loss", "train_loss"])
        #expect(rows.count == 1 + 12)
        #expect(Set(rows.dropFirst().map(\.[1])) == ["l2", "schedule"])
        #expect(rows.dropFirst().allSatisfy { (Double($0[4]) ?? -1) >= 0 && (Double($0[4]) ?? 101) <= 100 })
        let figure = try Self.svg(out.appendingPathComponent("sweep.svg"))
        #expect(figure.all("rect").filter { $0.attributes["stroke"] == "white" }.count == 12)
        #expect(figure.texts.contains("Adam+L2") && figure.texts.contains("AdamW (schedule)"))
        #expect(result.lines.contains { $0.hasPrefix("best λ per lr: ") })
    }

    /// Schedule-Free AdamW in a sweep: its cells run without a schedule (it replaces it), under its own name.
    @Test func sweepTakesScheduleFree() throws {
        let out = try Self.folder()
        let result = try CLI.run(["sweep", "--optimizer", "adamw,adamw-schedulefree", "--grid", "2x2", "--epochs", "1",
                                  "--hidden", "16", "--train-samples", "2000", "--batch-size", "100", "--out", out.path,
                                  "--no-progress"])
        #expect(result.status == 0, "\(result.error)")
        let summary = try #require(result.lines.first { $0.hasPrefix("summary job=sweep optimizer=adamw-schedulefree") })
        #expect(summary.contains("decay_convention=schedulefree cells=4"), "\(summary)")
        let rows = try Self.csv(out.appendingPathComponent("sweep.csv"))
        #expect(rows.filter { $0.first == "Schedule-Free AdamW" }.count == 4)
        // Each cell learns: far below the 90% error of chance at its best lr.
        #expect(rows.filter { $0.first == "Schedule-Free AdamW" }.compactMap { Double($0[4]) }.min() ?? 100 < 30)
    }

    static let invalid: [([String], String)] = [
        (["decay-report", "--epochs", "0"], "--epochs must be at least 1"),
        (["decay-report", "--jobs", "0"], "--jobs must be between 1 and 256"),
        (["decay-report", "--out", ""], "--out must name a folder"),
        (["decay-report", "--hidden", "0"], "--hidden must be positive integers"),
        (["decay-report", "--lr", "-1"], "--lr must be a positive number"),
        (["decay-report", "--weight-decay", "0"], "--weight-decay must be a positive number"),
        (["decay-report", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["decay-report", "--seed", "x"], "The value 'x' is invalid for '--seed"),
        (["decay-report", "--data-dir", "/nonexistent/mnist"], "no data file in /nonexistent/mnist"),
        (["decay-report", "--out", "/proc/forbidden", "--epochs", "1"], "cannot write /proc/forbidden"),
        (["compare", "--seeds", "0"], "--seeds must be between 1 and 1000"),
        (["compare", "--adam-lr", "0"], "--adam-lr must be a positive number"),
        (["compare", "--sgd-lr", "nan"], "--sgd-lr must be a positive number"),
        (["compare", "--momentum", "1"], "--momentum must be in [0, 1)"),
        (["compare", "--adamw-wd-grid", "0.1,x"], "--adamw-wd-grid must be finite numbers separated by commas"),
        (["compare", "--sgd-wd-grid", "-1"], "--sgd-wd-grid must hold λ ≥ 0, got -1.0"),
        (["compare", "--validation-samples", "0"], "--validation-samples must be at least 1"),
        (["compare", "--train-samples", "0"], "--train-samples must be at least 1"),
        (["compare", "--scheduler", "onecycle", "--momentum", "0"], "--scheduler onecycle cycles SGD's momentum"),
        (["compare", "--scheduler", "step"], "The value 'step' is invalid for '--scheduler"),
        (["compare", "--epochs", "1", "--validation-samples", "60000"], "invalid --validation-samples (at most 59999 of the training set's 60000): 60000"),
        (["sweep", "--optimizer", "sgd"], "--optimizer must list adam, adamw or adamw-schedulefree, comma-separated"),
        (["sweep", "--optimizer", "adam,rmsprop"], "--optimizer must list adam, adamw or adamw-schedulefree"),
        (["sweep", "--optimizer", "adamw-schedulefree", "--scheduler", "cosine"],
         "--scheduler cosine cannot be used with --optimizer adamw-schedulefree"),
        (["tune", "--optimizer", "sgd"], "--optimizer must be adam, adamw or adamw-schedulefree, got sgd"),
        (["sweep", "--optimizer", "adam", "--decay-convention", "schedule"], "--decay-convention applies only to adamw"),
        (["sweep", "--decay-convention", "paper"], "The value 'paper' is invalid for '--decay-convention"),
        (["sweep", "--grid", "6by6"], "--grid must be two positive counts such as 6x6"),
        (["sweep", "--grid", "0x3"], "--grid must be two positive counts such as 6x6"),
        (["sweep", "--lr-range", "1e-2"], "--lr-range must be at least 2 finite numbers"),
        (["sweep", "--lr-range", "1e-2,1e-3"], "invalid --lr-range 0.01…0.001: needs 0 < low ≤ high"),
        (["sweep", "--wd-range", "0,1"], "invalid --wd-range 0.0…1.0: needs 0 < low ≤ high"),
        (["sweep", "--wd-range", "1,2,3"], "--wd-range must be two numbers"),
        (["sweep", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["sweep", "--grid", "4000000000x4000000000"], "--grid must be two positive counts such as 6x6"),
        (["sweep", "--optimizer", "adam", "--decay-convention", "lr"], "--decay-convention applies only to adamw"),
        (["compare", "--scheduler", "plateau"], "--scheduler plateau watches the evaluation loss"),
        (["sweep", "--lr-range", "-1,1"], "invalid --lr-range -1.0…1.0: needs 0 < low ≤ high"),
    ]

    @Test(arguments: invalid)
    func aWrongOptionGetsAClearMessageAndAFailureStatus(_ arguments: [String], _ message: String) throws {
        let result = try CLI.run(arguments + ["--no-progress"])
        #expect(result.status != 0)
        #expect(result.error.contains(message), "stderr: \(result.error)")
        #expect(!result.output.contains("summary"), "nothing is reported")
    }
}
