import Foundation
import Testing

/// `adamw bench optimizer|gemm` and `adamw memory` run the adamw-bench program in adamw's place: the same words,
/// standard streams and exit status, and that program's own help.
struct BenchLauncherTests {
    @Test func theBenchmarksRunAsTheirOwnProgramWithTheirOwnHelp() throws {
        for words in [["bench", "optimizer"], ["bench", "gemm"], ["memory"]] {
            let help = try CLI.run(words + ["--help"])
            #expect(help.status == 0, "\(words): \(help.error)")
            #expect(help.output.contains("USAGE: adamw \(words.joined(separator: " "))"), "\(words): \(help.output)")
            #expect(help.output.contains("--threads") || words == ["memory"], "\(words): its options, not a launcher's")
        }
        let memory = try CLI.run(["memory", "--model", "gpt2-small"])
        #expect(memory.status == 0 && memory.lines.first == "gpt2-small: 148 tensors, 124439808 parameters",
                "\(memory.lines.first ?? "") \(memory.error)")
    }

    @Test func aBadFlagEndsWithTheBenchmarksOwnLineAndStatus() throws {
        let result = try CLI.run(["bench", "gemm", "--threads", "0"])
        #expect(result.status == 64)
        #expect(result.error.hasPrefix("Error: --threads must be between 1 and 256, got 0"), "\(result.error)")
        #expect(result.error.contains("Usage: adamw bench gemm"), "\(result.error)")
    }

    @Test func withoutTheBenchmarkProgramTheLauncherSaysSoInOneLine() throws {
        // A copy of adamw alone in a folder: its sibling adamw-bench is missing.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let copy = folder.appendingPathComponent("adamw")
        try FileManager.default.copyItem(at: CLI.executable, to: copy)
        let result = try CLI.run(["bench", "optimizer"], program: copy)
        #expect(result.status == 1)
        #expect(result.error.contains("adamw-bench") && result.error.split(separator: "\n").count == 1, "\(result.error)")
    }
}
