import ArgumentParser

@main
struct AdamWCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adamw",
        abstract: "AdamW, verified against PyTorch, at the speed of the memory bus.",
        discussion: "Without a subcommand, `adamw` runs `train`: the MNIST example with its defaults.",
        subcommands: [TrainCommand.self, DecayReportCommand.self, CompareCommand.self, SweepCommand.self, BenchCommand.self],
        defaultSubcommand: TrainCommand.self
    )
}
