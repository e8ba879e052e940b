import ArgumentParser
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

@main
struct AdamWCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adamw",
        abstract: "AdamW, verified against PyTorch, at the speed of the memory bus.",
        discussion: "Without a subcommand, `adamw` runs `train`: the MNIST example with its defaults.",
        subcommands: [TrainCommand.self, GPTCommand.self, DecayReportCommand.self, CompareCommand.self, SweepCommand.self,
                      BenchCommand.self, MemoryCommand.self],
        defaultSubcommand: TrainCommand.self
    )

    /// Standard output is line-buffered even when it is a file or a pipe, so that each line reaches it when it is
    /// printed: a run piped to `tee` and interrupted keeps everything it printed.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)  // before anything is printed, on the main thread
        main(nil)
    }
}
