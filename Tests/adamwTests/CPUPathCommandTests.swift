import Foundation
import Kernels
import Testing

/// `ADAMW_CPU` forces the kernels' instruction set for a whole run, and the benchmarks name the one they ran; a
/// path this CPU does not run, or no path at all, is one line.
struct CPUPathCommandTests {
    @Test func aForcedPathIsTakenAndNamed() throws {
        for path in CPUPath.supported {
            let result = try CLI.run(["bench", "optimizer", "--parameters", "4096", "--threads", "1"],
                                     launcher: ["/usr/bin/env", "ADAMW_CPU=\(path.rawValue)"])
            #expect(result.status == 0 && result.lines.last?.hasSuffix(" cpu=\(path.rawValue)") == true, "\(path): \(result.output)")
        }
        let unsupported = CPUPath.allCases.first { !$0.isSupported }?.rawValue ?? "riscv"
        for value in ["riscv", unsupported] {
            let result = try CLI.run(["memory"], launcher: ["/usr/bin/env", "ADAMW_CPU=\(value)"])
            HardeningTests.expect(result, status: 1, "ADAMW_CPU=\(value) is not", "ADAMW_CPU=\(value)")
        }
    }

    /// A checkpoint written on one path resumes on another. Within a family of bits (AVX2 and AVX-512 both fuse
    /// their multiply-adds) the resumed run is byte for byte the straight one; across families (SSE2 then the
    /// detected path) it continues from the saved state and ends near the straight run's loss.
    @Test func aCheckpointWrittenOnOnePathResumesOnAnother() throws {
        let folder = try GPTCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let options = GPTCommandTests.small + ["--eval-interval", "4", "--seed", "3"]
        func env(_ path: CPUPath) -> [String] { ["/usr/bin/env", "ADAMW_CPU=\(path.rawValue)"] }
        let straight = folder.appendingPathComponent("straight.safetensors").path
        let whole = try CLI.run(["gpt", "--iters", "8", "--save", straight] + options, launcher: env(.detected))
        #expect(whole.status == 0, "\(whole.error)")
        let writers = [CPUPath.avx2, .sse2].filter { $0.isSupported && $0 != .detected }
        for writer in writers {
            let resumed = folder.appendingPathComponent("\(writer.rawValue).safetensors").path
            let half = try CLI.run(["gpt", "--iters", "4", "--lr-decay-iters", "8", "--save", resumed] + options,
                                   launcher: env(writer))
            let rest = try CLI.run(["gpt", "--resume", resumed, "--no-progress", "--eval-interval", "4"],
                                   launcher: env(.detected))
            #expect(half.status == 0 && rest.status == 0, "\(writer): \(half.error)\(rest.error)")
            #expect(rest.lines.first == "Resumed from \(resumed) at iteration 4", "\(writer): \(rest.lines)")
            if writer.isFused == CPUPath.detected.isFused {
                #expect(try Data(contentsOf: URL(fileURLWithPath: straight)) == Data(contentsOf: URL(fileURLWithPath: resumed)),
                        "\(writer) then \(CPUPath.detected): not the straight run's bytes")
            } else {
                let ours = Double(CLI.summary(rest)["val_loss"] ?? "") ?? .nan
                let theirs = Double(CLI.summary(whole)["val_loss"] ?? "") ?? .nan
                #expect(abs(ours - theirs) < 1e-2, "\(writer) then \(CPUPath.detected): val_loss \(ours) against \(theirs)")
            }
        }
    }
}
