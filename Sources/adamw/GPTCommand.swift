import ArgumentParser

/// `adamw gpt`: nanoGPT's character-level model. Without a subcommand it trains (`adamw gpt train`); `adamw gpt
/// sample` writes text from a checkpoint.
struct GPTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt",
        abstract: "nanoGPT's character-level GPT: train it on Tiny Shakespeare (default), or sample from a checkpoint.",
        subcommands: [GPTTrainCommand.self, GPTSampleCommand.self],
        defaultSubcommand: GPTTrainCommand.self
    )
}
