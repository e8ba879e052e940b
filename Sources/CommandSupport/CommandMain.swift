import ArgumentParser
import Checkpoints
import DataParallel
import Kernels
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// What every program of the command line does around its command (`adamw`, and `adamw-bench` that `adamw bench`
/// runs): standard output line-buffered even when it is a file or a pipe, so that each line reaches it when it is
/// printed (a run piped to `tee` and interrupted keeps everything it printed); an interrupt (SIGINT, SIGTERM,
/// SIGHUP) removing the temporary file of a checkpoint being written; memory that runs out in spite of the checks
/// made before allocating ending the program with one line and status 1, not a trap; a path the kernels cannot
/// take refused before anything runs; under mpirun, only the commands that run data-parallel.
public enum CommandMain {
    /// Parses the command line as `Root` and runs the command it names. `runsDataParallel` says whether a parsed
    /// command runs as one rank of an mpirun job; `dataParallelCommands` names those for the refusal.
    public static func run<Root: ParsableCommand>(
        _ root: Root.Type, dataParallelCommands: String, runsDataParallel: (ParsableCommand) -> Bool
    ) -> Never {
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
            var command = try Root.parseAsRoot()
            // Under mpirun every other command would run N times over, each copy writing the same files.
            if let ranks = ProcessLaunch.launchedRanks, ranks > 1, !runsDataParallel(command),
               type(of: command).configuration.commandName != "help" {
                throw Refusal("mpirun started \(ranks) copies of a command that runs in one process: only "
                              + "\(dataParallelCommands) run data-parallel")
            }
            do {
                try command.run()
            } catch let error as ValidationError {
                // A value found out of range once the run has started (sizes known only from the data, options read
                // from a checkpoint): one line and status 64, without the usage text, which names no such value.
                fputs("Error: \(error.message)\n", stderr)
                exit(64)
            }
        } catch {
            Root.exit(withError: error)
        }
        exit(0)
    }
}
