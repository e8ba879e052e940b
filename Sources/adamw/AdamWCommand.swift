import ArgumentParser
import Checkpoints
import DataParallel
import Kernels
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
    /// printed: a run piped to `tee` and interrupted keeps everything it printed. An interrupt (SIGINT, SIGTERM,
    /// SIGHUP) removes the temporary file of a checkpoint being written; memory that runs out in spite of the
    /// checks made before allocating ends the program with one line and status 1, not a trap.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)  // before anything is printed, on the main thread
        InterruptCleanup.install()
        OutOfMemory.setHandler { bytes, purpose in
            let line = "Error: out of memory: \(MemoryLimit.size(bytes)) (\(purpose)) could not be allocated; "
                + "\(MemoryLimit.usable.description): choose smaller sizes\n"
            fflush(nil)
            fputs(line, stderr)
            _exit(1)
        }
        do {
            // A path the kernels cannot take is one line, before anything runs.
            do {
                _ = try CPUPath.fromEnvironment()
            } catch {
                throw Refusal("\(error)")
            }
            var command = try parseAsRoot()
            // Under mpirun every other command would run N times over, each copy writing the same files.
            if let ranks = ProcessLaunch.launchedRanks, ranks > 1, !(command is RunsDataParallel),
               type(of: command).configuration.commandName != "help" {
                throw Refusal("mpirun started \(ranks) copies of a command that runs in one process: only train, gpt "
                              + "and bench distributed run data-parallel")
            }
            do {
                try command.run()
            } catch let error as ValidationError {
                // A value found out of range once the run has started (sizes known only from the data, options read
                // from a checkpoint): one line and status 64, without the usage text, which names no such value.
                fputs("Error: \(error.message)\n", stderr)
                #if canImport(Glibc)
                Glibc.exit(64)
                #else
                Darwin.exit(64)
                #endif
            }
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
