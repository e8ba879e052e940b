import Foundation
import TestSupport
import Testing

/// decay-report, compare, sweep and tune on the GPT (`--task gpt`) and tune on MNIST, each on a tiny budget: a few
/// iterations of the recipe on a short text, so that every run and evaluation takes well under a second.
struct GPTExperimentCommandTests {
    /// The first 30,000 characters of Tiny Shakespeare: its validation split (3,000) halves into 1,500 each.
    static func text() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID().uuidString).txt")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Data/tinyshakespeare/input.txt")
        let text = try String(contentsOf: source, encoding: .utf8)
        try String(text.unicodeScalars.prefix(30_000).map(Character.init)).write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static func gpt(_ text: String, iterations: Int = 6) -> [String] {
        ["--task", "gpt", "--text", text, "--iters", "\(iterations)", "--eval-interval", "3", "--no-progress"]
    }

    @Test func decayReportGroupsTheGPTsWeightsByKind() throws {
        let out = try ExperimentCommandTests.folder(), text = try Self.text()
        let result = try CLI.run(["decay-report", "--out", out.path] + Self.gpt(text))
        #expect(result.status == 0, "\(result.error)")
        let summary = CLI.summary(result)
        #expect(summary["job"] == "decay-report" && summary["task"] == "gpt" && summary["iters"] == "6")
        // nanoGPT's recipe decays the matrices only: embeddings, attention and MLP weights.
        for kind in ["embedding (", "attention (", "mlp ("] { #expect(result.lines.contains { $0.hasPrefix(kind) }, "\(kind)") }
        #expect(!result.lines.contains { $0.hasPrefix("layernorm (") })
        // AdamW shrinks every weight alike: lr·λ, at the sixth warm-up iteration lr = 1e-3 · 6/101 (nanoGPT's
        // (it + 1)/(warmup + 1)). Adam+L2 shrinks unevenly, and far more.
        let adamw = Double(summary["adamw_shrink_min"] ?? "") ?? 0
        #expect(abs(adamw / (0.1 * 1e-3 * 6 / 101) - 1) < 1e-9 && summary["adamw_shrink_min"] == summary["adamw_shrink_max"],
                "\(summary)")
        let low = Double(summary["adam_l2_shrink_min"] ?? "") ?? 0, high = Double(summary["adam_l2_shrink_max"] ?? "") ?? 0
        #expect(low > adamw && high > 10 * low, "\(low)…\(high)")
        let rows = try ExperimentCommandTests.csv(out.appendingPathComponent("decay-report.csv"))
        #expect(rows.count == 1 + 2 * 2 * 3 * 10, "two optimizers, two evaluations, three kinds, ten deciles")
        #expect(try ExperimentCommandTests.svg(out.appendingPathComponent("decay-report.svg")).texts.contains("attention"))

        let all = try CLI.run(["decay-report", "--decay-all", "--out", out.path] + Self.gpt(text))
        #expect(all.status == 0, "\(all.error)")
        #expect(all.lines.contains { $0.hasPrefix("layernorm (") }, "--decay-all reports the LayerNorm weights")
    }

    @Test func compareOnTheGPTChoosesOnOneHalfAndReportsTheOther() throws {
        let out = try ExperimentCommandTests.folder(), text = try Self.text()
        let result = try CLI.run(["compare", "--seeds", "2", "--adam-wd-grid", "0,1e-3", "--adamw-wd-grid", "0.1,1e4",
                                  "--sgd-wd-grid", "0", "--out", out.path] + Self.gpt(text))
        #expect(result.status == 0, "\(result.error)")
        let summary = CLI.summary(result)
        #expect(summary["job"] == "compare" && summary["task"] == "gpt" && summary["seeds"] == "2")
        #expect(summary["adamw_wd"] == "0.1", "λ = 10,000 wipes the weights out: never chosen")
        for key in ["adam_l2_heldout_loss", "adamw_heldout_loss", "sgd_heldout_loss"] {
            let loss = Double(summary[key] ?? "") ?? .nan
            #expect(loss > 2 && loss < 4.5, "\(key) \(loss)")
        }
        #expect(try ExperimentCommandTests.csv(out.appendingPathComponent("compare-selection.csv")).count == 1 + 5)
        let runs = try ExperimentCommandTests.csv(out.appendingPathComponent("compare-runs.csv"))
        #expect(runs.count == 1 + 3 * 2 * 2, "three optimizers, two seeds, two evaluations each")
        #expect(try ExperimentCommandTests.svg(out.appendingPathComponent("compare.svg")).texts.contains("iteration"))
    }

    @Test func sweepOnTheGPTFillsBothGrids() throws {
        let out = try ExperimentCommandTests.folder(), text = try Self.text()
        let result = try CLI.run(["sweep", "--grid", "2x2", "--out", out.path] + Self.gpt(text, iterations: 4))
        #expect(result.status == 0, "\(result.error)")
        let summaries = result.lines.filter { $0.hasPrefix("summary job=sweep task=gpt") }
        #expect(summaries.count == 2 && summaries.allSatisfy { $0.contains("cells=4") }, "\(result.output)")
        let rows = try ExperimentCommandTests.csv(out.appendingPathComponent("sweep.csv"))
        #expect(rows.first?[4] == "heldout_loss" && rows.count == 1 + 8)
        #expect(rows.dropFirst().allSatisfy { (Double($0[4]) ?? .nan).isFinite })
    }

    @Test(arguments: ["mnist", "gpt"])
    func tuneRunsBothStrategiesWithTheSameBudgetDeterministically(task: String) throws {
        let text = try Self.text()
        let options = task == "gpt"
            ? ["tune", "--trials", "4"] + Self.gpt(text, iterations: 4)
            : ["tune", "--trials", "4", "--epochs", "1", "--hidden", "16", "--validation-samples", "2000", "--no-progress"]
        let out = try ExperimentCommandTests.folder()
        let first = try CLI.run(options + ["--out", out.path, "--jobs", "2"])
        #expect(first.status == 0, "\(first.error)")
        let summary = CLI.summary(first)
        #expect(summary["job"] == "tune" && summary["task"] == task && summary["trials"] == "4")
        for key in ["bayes_lr", "bayes_wd", "bayes_validation_loss", "bayes_heldout_loss", "random_lr", "random_heldout_loss"] {
            #expect(Double(summary[key] ?? "")?.isFinite == true, "\(key): \(summary)")
        }
        let rows = try ExperimentCommandTests.csv(out.appendingPathComponent("tune.csv"))
        #expect(rows.count == 1 + 2 * 4 && rows.first == ["strategy", "trial", "lr", "weight_decay", "validation_loss", "best_so_far"])
        // Best so far never rises; every trial lies in the default ranges.
        for strategy in ["bayesian", "random"] {
            let best = rows.filter { $0[0] == strategy }.compactMap { Double($0[5]) }
            #expect(best.count == 4 && zip(best, best.dropFirst()).allSatisfy { $1 <= $0 })
        }
        let figure = try ExperimentCommandTests.svg(out.appendingPathComponent("tune.svg"))
        #expect(figure.texts.contains("random search") && figure.texts.contains("Bayesian optimisation (GP, EI)"))
        // The same seed gives the same trials one job at a time.
        let again = try ExperimentCommandTests.folder()
        let second = try CLI.run(options + ["--out", again.path, "--jobs", "1"])
        #expect(try ExperimentCommandTests.csv(again.appendingPathComponent("tune.csv")) == rows)
        #expect(CLI.summary(second)["bayes_lr"] == summary["bayes_lr"])
    }

    @Test func optionsOfTheOtherTaskAreRefused() throws {
        let cases: [([String], String)] = [
            (["compare", "--iters", "5"], "--iters applies only to --task gpt"),
            (["tune", "--train-chars", "5000"], "--train-chars applies only to --task gpt"),
            (["sweep", "--task", "gpt", "--epochs", "2"], "--epochs applies to --task mnist"),
            (["decay-report", "--decay-all"], "--decay-all applies only to --task gpt"),
            (["tune", "--optimizer", "sgd"], "--optimizer must be adam, adamw or adamw-schedulefree"),
            (["tune", "--wd-range", "1,0.1"], "--wd-range must be two numbers 0 < low < high"),
            (["compare", "--task", "gpt", "--train-chars", "10"], "--train-chars must be at least 1000"),
        ]
        for (arguments, message) in cases {
            let result = try CLI.run(arguments + ["--no-progress"])
            #expect(result.status == 64, "\(arguments): \(result.status)")
            #expect(result.error.contains(message), "\(arguments): \(result.error)")
        }
    }
}
