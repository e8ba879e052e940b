import ArgumentParser
import CommandSupport
import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the kernels against this machine's memory-traffic ceiling.",
        subcommands: [BenchLauncher<OptimizerBench>.self, BenchLauncher<GEMMBench>.self, BenchLauncher<TokenizerBench>.self, BenchLauncher<GPT2Bench>.self,
                      BenchDistributedCommand.self]
    )
}

/// A benchmark that lives in the `adamw-bench` program (built beside `adamw`, from `Benchmarks/Command`), so that
/// the benchmarks' code is not linked into the command line.
protocol BenchmarkProgram {
    /// Its subcommand's name here, and its words in adamw-bench (`bench optimizer`, `memory`).
    static var name: String { get }
    static var path: [String] { get }
    static var abstract: String { get }
}

enum OptimizerBench: BenchmarkProgram {
    static let name = "optimizer"
    static let path = ["bench", "optimizer"]
    static let abstract = "Time AdamW, Adam and SGD with momentum steps next to a memory-traffic kernel."
}

enum GEMMBench: BenchmarkProgram {
    static let name = "gemm"
    static let path = ["bench", "gemm"]
    static let abstract = "GFLOP/s of the GEMM on square and training-shaped products, next to numpy's OpenBLAS."
}

enum TokenizerBench: BenchmarkProgram {
    static let name = "tokenizer"
    static let path = ["bench", "tokenizer"]
    static let abstract = "Seconds and MB/s of GPT-2's BPE encoding a text (default Tiny Shakespeare), next to tiktoken's."
}

enum GPT2Bench: BenchmarkProgram {
    static let name = "gpt2"
    static let path = ["bench", "gpt2"]
    static let abstract = "Milliseconds and tokens/s of a GPT-2 small (124M) fine-tuning step, and the run's peak resident memory."
}

enum MemoryBench: BenchmarkProgram {
    static let name = "memory"
    static let path = ["memory"]
    static let abstract = "Bytes per parameter and totals of AdamW's weights, gradients and states, per storage (fp32, bf16, int8, int4)."
}

/// `adamw bench <name> …` (or `adamw memory …`): runs `adamw-bench` with the same words in this process's place
/// (same arguments, standard streams, environment and exit status; `--help` is that program's).
struct BenchLauncher<Program: BenchmarkProgram>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Program.name, abstract: Program.abstract,
                             discussion: "Run by the adamw-bench program built beside adamw: `adamw \(Program.path.joined(separator: " ")) --help` lists its options.")
    }

    @Argument(parsing: .captureForPassthrough, help: "The benchmark's options.")
    var arguments: [String] = []

    func run() throws {
        // adamw-bench sits beside this program's own file (links resolved), wherever it was called from.
        let executable = Bundle.main.executableURL
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let program = executable.deletingLastPathComponent().appendingPathComponent("adamw-bench").path
        let argv = [program] + Program.path + arguments
        var pointers = argv.map { strdup($0) } + [nil]
        execv(program, &pointers)
        throw Refusal("cannot run \(program) (\(String(cString: strerror(errno)))): build it with `swift build -c release` in the repository")
    }
}
