import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the kernels against this machine's memory-traffic ceiling.",
        subcommands: [BenchOptimizerCommand.self, BenchGEMMCommand.self, BenchDistributedCommand.self]
    )
}
