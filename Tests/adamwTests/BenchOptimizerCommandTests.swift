import Foundation
import Testing

/// `adamw bench optimizer --parameters` takes a count as its help writes the defaults (1K, 1M, 32M).
struct BenchOptimizerCommandTests {
    @Test func aCountTakesTheSuffixesOfItsHelp() throws {
        let result = try CLI.run(["bench", "optimizer", "--parameters", "4K", "--threads", "1", "--samples", "1"])
        #expect(result.status == 0, "\(result.error)")
        let summaries = result.lines.filter { $0.hasPrefix("summary ") }
        #expect(!summaries.isEmpty && summaries.allSatisfy { $0.contains(" parameters=4096 ") }, "\(summaries)")
    }

    @Test(arguments: ["1X", "K", "4.5M", "99999999999G", "٣"])
    func anythingElseIsRefusedNamingTheFlag(_ text: String) throws {
        let result = try CLI.run(["bench", "optimizer", "--parameters", text])
        #expect(result.status == 64, "\(text): \(result.error)")
        #expect(result.error.contains("The value '\(text)' is invalid for '--parameters"), "\(text): \(result.error)")
    }
}
