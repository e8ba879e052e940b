import ArgumentParser
import CommandSupport

@main
struct AdamWCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adamw",
        abstract: "AdamW, verified against PyTorch, at the speed of the memory bus.",
        discussion: "Without a subcommand, `adamw` runs `train`: the MNIST example with its defaults.",
        subcommands: [TrainCommand.self, GPTCommand.self, DecayReportCommand.self, CompareCommand.self, SweepCommand.self,
                      BenchCommand.self, BenchLauncher<MemoryBench>.self, TuneCommand.self],
        defaultSubcommand: TrainCommand.self
    )

    /// The command named on the command line, with what every program here does around it (``CommandMain``).
    static func main() {
        CommandMain.run(Self.self, dataParallelCommands: "train, gpt and bench distributed") { $0 is RunsDataParallel }
    }
}

/// A command that runs as one rank of an mpirun job (see ``ParallelLaunch``).
protocol RunsDataParallel {}

extension TrainCommand: RunsDataParallel {}
extension GPTTrainCommand: RunsDataParallel {}
extension BenchDistributedCommand: RunsDataParallel {}
