import ArgumentParser
import CommandSupport

/// The benchmarks — `adamw bench optimizer`, `adamw bench gemm` and `adamw memory` — as a program of their own, so
/// that their code is not linked into `adamw`, which runs this one in its place with the same words.
@main
struct BenchMain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adamw",
        abstract: "The benchmarks of adamw (run through it: adamw bench …, adamw memory).",
        subcommands: [BenchGroup.self, MemoryCommand.self]
    )

    static func main() {
        CommandMain.run(Self.self, dataParallelCommands: "adamw's train, gpt and bench distributed") { _ in false }
    }
}

/// `bench`: the benchmarks timed against this machine's memory-traffic ceiling.
struct BenchGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the kernels against this machine's memory-traffic ceiling.",
        subcommands: [BenchOptimizerCommand.self, BenchGEMMCommand.self, BenchTokenizerCommand.self, BenchGPT2Command.self]
    )
}
