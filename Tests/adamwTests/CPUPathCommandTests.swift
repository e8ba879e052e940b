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
}
