import Foundation
import Kernels
import Testing

/// A package that depends on this one by version (Benchmarks/as-a-dependency.sh builds it, plainly, from a tagged
/// clone) computes the same numbers as this repository's build of the same program, on the same path: one AdamW
/// step's parameters, and one nanoGPT iteration's losses and weights.
struct DependencyProbeTests {
    @Test func aPackageThatDependsOnThisOneByVersionComputesTheSameNumbers() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("consumer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let script = root.appendingPathComponent("Benchmarks/as-a-dependency.sh").path
        let built = try CLI.run([script, "--consumer-only", "--work", work.path], program: URL(fileURLWithPath: "/bin/bash"))
        try #require(built.status == 0, "\(built.error)")
        let consumer = URL(fileURLWithPath: built.lines.last ?? "")
        let probe = CLI.executable.deletingLastPathComponent().appendingPathComponent("dependency-probe")
        for path in Set([CPUPath.detected, .generic]).sorted(by: { $0.rawValue < $1.rawValue }) {
            for arguments in [["adamw", "100003", "2"], ["gpt", "2"]] {
                let launcher = ["/usr/bin/env", "ADAMW_CPU=\(path.rawValue)"]
                let ours = try CLI.run(arguments, launcher: launcher, program: probe)
                let theirs = try CLI.run(arguments, launcher: launcher, program: consumer)
                let numbers = { (result: CLI.Result) in result.lines.filter { !$0.contains("ms_per_") } }
                #expect(ours.status == 0 && theirs.status == 0, "\(ours.error) \(theirs.error)")
                #expect(!numbers(ours).isEmpty && numbers(ours) == numbers(theirs), "\(path) \(arguments)")
            }
        }
    }
}
