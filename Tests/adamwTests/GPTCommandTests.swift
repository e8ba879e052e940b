import Foundation
import Testing

/// `adamw gpt` on a short budget: the evaluation lines, a sample, the summary, and the same output on one thread
/// as on two.
struct GPTCommandTests {
    @Test func aShortRunEvaluatesSamplesAndSummarizesTheSameOnOneAndTwoThreads() throws {
        let arguments = ["gpt", "--iters", "20", "--eval-interval", "10", "--no-progress"]
        let two = try CLI.run(arguments + ["--threads", "2"])
        #expect(two.status == 0, "\(two.error)")
        #expect(two.lines.filter { $0.hasPrefix("step ") }.count == 2 && two.lines.contains { $0.hasPrefix("step 10: train loss ") })
        let summary = CLI.summary(two)
        #expect(summary["job"] == "gpt" && summary["iters"] == "20" && summary["params"] == "804096", "\(summary)")
        let loss = Double(summary["val_loss"] ?? "") ?? .nan
        #expect(loss < 4.1 && loss > 2, "the loss falls below ln 65 = 4.17: \(loss)")
        let one = try CLI.run(arguments + ["--threads", "1"])
        let withoutTimes = { (result: CLI.Result) in result.lines.map { $0.split(separator: " ").filter { !$0.hasPrefix("train_s=") && !$0.hasPrefix("ms_per_iter=") } } }
        #expect(withoutTimes(one) == withoutTimes(two), "bitwise the same losses and sample on 1 and 2 threads")
    }

    @Test func aTextTooShortOrMissingIsRefused() throws {
        let missing = try CLI.run(["gpt", "--data", "/nonexistent/text.txt", "--no-progress"])
        #expect(missing.status == 1 && missing.error.contains("/nonexistent/text.txt"), "\(missing.error)")
        let short = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID().uuidString).txt")
        try Data(String(repeating: "abc", count: 30).utf8).write(to: short)
        let refused = try CLI.run(["gpt", "--data", short.path, "--no-progress"])
        #expect(refused.status == 1 && refused.error.contains("too short for a context of 64"), "\(refused.error)")
        #expect(try CLI.run(["gpt", "--iters", "0"]).status == 64)
    }
}
