import ArgumentParser
import DataParallel
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
                      BenchCommand.self, MemoryCommand.self, TuneCommand.self],
        defaultSubcommand: TrainCommand.self
    )

    /// Standard output is line-buffered even when it is a file or a pipe, so that each line reaches it when it is
    /// printed: a run piped to `tee` and interrupted keeps everything it printed.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)  // before anything is printed, on the main thread
        do {
            var command = try parseAsRoot()
            // Under mpirun every other command would run N times over, each copy writing the same files.
            if let ranks = ProcessLaunch.launchedRanks, ranks > 1, !(command is RunsDataParallel),
               type(of: command).configuration.commandName != "help" {
                throw Refusal("mpirun started \(ranks) copies of a command that runs in one process: only train, gpt "
                              + "and bench distributed run data-parallel")
            }
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// A command that runs as one rank of an mpirun job (see ``ParallelLaunch``).
protocol RunsDataParallel {}

extension TrainCommand: RunsDataParallel {}
extension GPTTrainCommand: RunsDataParallel {}
extension BenchDistributedCommand: RunsDataParallel {}
