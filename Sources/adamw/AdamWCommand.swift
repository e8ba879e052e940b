import ArgumentParser

@main
struct AdamWCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adamw",
        abstract: "AdamW, verified against PyTorch, at the speed of the memory bus.",
        subcommands: [BenchCommand.self]
    )
}
