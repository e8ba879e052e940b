import Checkpoints
import DataParallel
import Foundation
import Testing

/// `mpirun -np N adamw …`: N ranks give the bits of one process with --accumulate N (printed losses and checkpoint
/// bytes), a checkpoint resumes on any number of ranks, each rank keeps its share of the optimizer state, and a
/// rank that stops or dies ends the job within the bound. These need Open MPI (`.ci/run` installs it); elsewhere
/// they are skipped, except under CI=true, where a missing MPI fails them.
enum MPI {
    static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun", "/opt/homebrew/bin/mpirun"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static var available: Bool { mpirun != nil && ProcessLaunch.mpiIsBuiltIn }

    /// Fails under CI when MPI is missing; elsewhere the caller skips.
    static func required() -> Bool {
        if !available && ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("CI runs the multi-rank tests: mpirun (\(mpirun ?? "absent")) and an adamw built with MPI (\(ProcessLaunch.mpiIsBuiltIn)) are required")
        }
        return available
    }

    /// mpirun's arguments for `ranks` processes on this machine (more ranks than cores, and as root in CI).
    static func launcher(_ ranks: Int) -> [String] {
        [mpirun ?? "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)"]
    }

    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The output that must be equal between runs: everything but the timing line and the summary's times.
    static func comparable(_ result: CLI.Result) -> [String] {
        result.lines.filter { !$0.hasPrefix("timing ") }.map { line in
            guard line.hasPrefix("summary ") else { return line }
            return line.split(separator: " ").filter { !$0.hasPrefix("train_s=") && !$0.hasPrefix("ms_per_iter=")
                && !$0.hasPrefix("load_s=") && !$0.hasPrefix("eval_s=") }.joined(separator: " ")
        }
    }
}

@Suite(.serialized)
struct DataParallelCommandTests {
    /// Dropout, biases, an untied head, clipping and 8-bit states: every part of a step must agree.
    static let model = ["gpt", "--layers", "2", "--heads", "2", "--embedding", "32", "--context", "32", "--batch-size", "4",
                        "--dropout", "0.1", "--bias", "--no-tie", "--eval-interval", "2", "--no-progress"]
    static let gpt = model + ["--iters", "4"]

    @Test(arguments: [2, 4])
    func ranksAreBitwiseOneProcessWithAccumulate(ranks: Int) throws {
        guard MPI.required() else { return }
        let folder = try MPI.folder()
        // Schedule-Free's evaluations move every rank's parameters to the average and back.
        for (states, extra) in [("fp32", ["--states", "fp32"]), ("int8", ["--states", "int8"]),
                                ("schedule-free", ["--optimizer", "adamw-schedulefree"]),
                                ("decay-to", ["--decay-to", "initial", "--weight-decay", "1"])] {
            let one = folder.appendingPathComponent("one-\(states).safetensors").path
            let many = folder.appendingPathComponent("many-\(states).safetensors").path
            // The single process on two threads, the ranks on one each: the thread count changes nothing either.
            let single = try CLI.run(Self.gpt + extra + ["--accumulate", "\(ranks)", "--threads", "2", "--save", one])
            #expect(single.status == 0, "\(single.error)")
            let parallel = try CLI.run(Self.gpt + extra + ["--threads", "1", "--save", many],
                                       launcher: MPI.launcher(ranks))
            #expect(parallel.status == 0, "\(parallel.error)")
            #expect(MPI.comparable(parallel) == MPI.comparable(single), "\(parallel.output)\n---\n\(single.output)")
            #expect(parallel.lines.filter { $0.hasPrefix("step ") }.count == 2, "rank 0 alone prints: \(parallel.output)")
            #expect(FileManager.default.contents(atPath: many) == FileManager.default.contents(atPath: one),
                    "\(ranks) ranks' checkpoint (\(states)) differs from one process's")
        }
    }

    @Test func sharesLargerThanAPieceAreExchangedInPiecesWithTheSameBits() throws {
        guard MPI.required() else { return }
        // 7,142,400 parameters: each of two ranks' shares (about 3.6M elements) goes in two pieces of 2M.
        let folder = try MPI.folder()
        let options = ["gpt", "--layers", "1", "--embedding", "768", "--heads", "4", "--context", "16", "--batch-size", "1",
                       "--iters", "2", "--eval-interval", "2", "--no-progress"]
        let one = folder.appendingPathComponent("one.safetensors").path, two = folder.appendingPathComponent("two.safetensors").path
        #expect(try CLI.run(options + ["--accumulate", "2", "--save", one]).status == 0)
        let parallel = try CLI.run(options + ["--save", two], launcher: MPI.launcher(2))
        #expect(parallel.status == 0, "\(parallel.error)")
        #expect(FileManager.default.contents(atPath: two) == FileManager.default.contents(atPath: one))
    }

    @Test func theSeedsMNISTOnRanksIsOneProcessWithAnUnevenLastStep() throws {
        guard MPI.required() else { return }
        let folder = try MPI.folder()
        // 1900 samples make 30 batches of 64: seven steps of four, then one of two, where ranks 2 and 3 only
        // receive. The MLP (four tensors) with bf16 states and clipping; the linear model (two tensors: two of
        // four ranks own none); and SGD at a rate that makes most gradients non-finite, so that steps are skipped
        // (the same ones everywhere) and the run ends refusing its diverged loss.
        let models = [["--model", "mlp", "--states", "bf16", "--clip-norm", "0.5"], ["--model", "linear"],
                      ["--model", "mlp", "--optimizer", "sgd", "--lr", "1e6"]]
        for model in models {
            let options = ["train", "--epochs", "2", "--train-samples", "1900", "--accumulate", "4", "--no-progress"] + model
            let one = folder.appendingPathComponent("one.safetensors").path
            let single = try CLI.run(options + ["--save", one])
            let diverges = model.contains("sgd")
            #expect(single.status == (diverges ? 1 : 0), "\(single.error)")
            if diverges { #expect(single.lines.contains { $0.hasPrefix("Skipped steps (non-finite gradients): ") }) }
            for ranks in [2, 4] {
                let many = folder.appendingPathComponent("many-\(ranks).safetensors").path
                let parallel = try CLI.run(options + ["--save", many, "--threads", "1"], launcher: MPI.launcher(ranks))
                #expect(parallel.status == single.status, "\(parallel.error)")
                #expect(MPI.comparable(parallel) == MPI.comparable(single), "\(model) on \(ranks): \(parallel.output)")
                #expect(FileManager.default.contents(atPath: many) == FileManager.default.contents(atPath: one),
                        "\(model) on \(ranks) ranks: the checkpoint differs from one process's")
            }
        }
    }

    @Test func aCheckpointResumesOnAnyNumberOfRanksBitExactly() throws {
        guard MPI.required() else { return }
        let folder = try MPI.folder()
        let options = Self.model + ["--states", "int4"]
        let straight = folder.appendingPathComponent("straight.safetensors").path
        #expect(try CLI.run(options + ["--iters", "4", "--accumulate", "4", "--save", straight]).status == 0)
        // 4 ranks → 2 ranks, and 1 process → 4 ranks.
        for (first, second) in [(4, 2), (1, 4)] {
            let path = folder.appendingPathComponent("resumed-\(first)-\(second).safetensors").path
            let start = try CLI.run(options + ["--iters", "2", "--lr-decay-iters", "4", "--accumulate", "4", "--save", path],
                                    launcher: first == 1 ? [] : MPI.launcher(first))
            #expect(start.status == 0, "\(start.error)")
            let resumed = try CLI.run(["gpt", "--resume", path, "--iters", "4", "--no-progress"], launcher: MPI.launcher(second))
            #expect(resumed.status == 0, "\(resumed.error)")
            #expect(resumed.lines.first == "Resumed from \(path) at iteration 2", "\(resumed.output)")
            #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: straight),
                    "saved on \(first), resumed on \(second): not the straight run's bytes")
        }
        // A step's micro-batches must divide among the ranks: one line, naming the flag.
        let path = folder.appendingPathComponent("resumed-4-2.safetensors").path
        let odd = try CLI.run(["gpt", "--resume", path, "--iters", "6", "--no-progress"], launcher: MPI.launcher(3))
        #expect(odd.status != 0)
        #expect(odd.error.contains("invalid --accumulate 4: must be a multiple of the 3 processes"), "\(odd.error)")
    }

    @Test func eachRankKeepsItsShareOfTheOptimizerState() throws {
        guard MPI.required() else { return }
        let bench = ["bench", "distributed", "--iters", "1", "--warmup", "1", "--threads", "1"]
        let alone = CLI.summary(try CLI.run(bench))
        let whole = try #require(Int(alone["state_bytes_one_process"] ?? ""), "\(alone)")
        #expect(whole == 804_096 * 8, "float32 m and v of the recipe's 804,096 parameters")
        for ranks in [2, 4] {
            let result = try CLI.run(bench, launcher: MPI.launcher(ranks))
            #expect(result.status == 0, "\(result.error)")
            let summary = CLI.summary(result)
            // The ranks' states add up to one process's, as measured alone, and none holds much more than 1/N.
            #expect(Int(summary["state_bytes_one_process"] ?? "") == whole, "\(summary)")
            let share = Double(summary["state_share_max"] ?? "") ?? 1
            #expect(share < 1.1 / Double(ranks), "\(ranks) ranks: the largest share is \(share)")
            // Each rank sends ZeRO-1's 2·(N−1)/N of the parameters' bytes, give or take the balance of its share.
            let ratio = Double(summary["sent_ratio"] ?? "") ?? 0
            #expect(abs(ratio - 1) < 0.05, "\(ranks) ranks: sent \(ratio) of ZeRO-1's bytes")
            let rankLines = result.lines.filter { $0.hasPrefix("rank ") && $0.contains("optimizer state") }
            #expect(rankLines.count == ranks, "\(result.output)")
        }
    }

    /// Starts `mpirun … adamw arguments`, waits for `file`, stops or kills rank 1, and returns the job's result
    /// with the seconds it took to end after the signal.
    static func interrupt(signal: Int32, arguments: [String], waitingFor file: String) throws -> (CLI.Result, Double) {
        let process = Process()
        let launcher = MPI.launcher(2)
        process.executableURL = URL(fileURLWithPath: launcher[0])
        process.arguments = launcher.dropFirst() + [CLI.executable.path] + arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
        let error = FileManager.default.temporaryDirectory.appendingPathComponent("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: error.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: error)
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let started = Date()
        while !FileManager.default.fileExists(atPath: file) && Date().timeIntervalSince(started) < 120 { usleep(50_000) }
        // Rank 1 is the child of mpirun whose environment says so.
        let children = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { Int32($0) }.filter { pid in
            // /proc/<pid>/stat: "pid (name) state ppid …"; the name may hold spaces, so read after its ')'.
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let end = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == process.processIdentifier
        }
        let rank1 = try #require(children.first { pid in
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            return environment.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=1" }
        }, "mpirun's children: \(children)")
        kill(rank1, signal)
        let signalled = Date()
        while process.isRunning && Date().timeIntervalSince(signalled) < 60 { usleep(20_000) }
        let seconds = Date().timeIntervalSince(signalled)
        if process.isRunning { return (CLI.Result(status: -1, output: "", error: "still running"), seconds) }
        return (CLI.Result(status: process.terminationStatus,
                           output: (try? String(contentsOf: output, encoding: .utf8)) ?? "",
                           error: (try? String(contentsOf: error, encoding: .utf8)) ?? ""), seconds)
    }

    @Test(arguments: [SIGSTOP, SIGKILL])
    func aRankThatStopsOrDiesEndsTheJobWithinTheBound(signal: Int32) throws {
        guard MPI.required() else { return }
        let folder = try MPI.folder()
        let checkpoint = folder.appendingPathComponent("run.safetensors").path
        let (result, seconds) = try Self.interrupt(
            signal: signal,
            arguments: ["gpt", "--iters", "1000000", "--eval-interval", "5", "--save", checkpoint, "--peer-timeout", "3",
                        "--threads", "1", "--no-progress"],
            waitingFor: checkpoint)
        #expect(result.status != 0, "the job must end non-zero: \(result.error)")
        // A stopped rank: the others give up after --peer-timeout (3 s) and name it. A dead one: mpirun names it.
        #expect(seconds < 20, "the job took \(seconds) s to end")
        if signal == SIGSTOP {
            #expect(result.error.contains("rank 0: no answer from rank 1 for 3 s"), "\(result.error)")
        } else {
            #expect(result.error.contains("rank 1"), "\(result.error)")
        }
        // The last checkpoint is whole: it loads and resumes.
        let state = try CheckpointFile.read(checkpoint)
        #expect(state.metadata["job"] == "gpt")
        let resumed = try CLI.run(["gpt", "--resume", checkpoint, "--iters", "\(Int(state.metadata["iteration"] ?? "0")! + 1)",
                                   "--no-progress"])
        #expect(resumed.status == 0, "\(resumed.error)")
    }

    @Test func aCommandThatRunsInOneProcessRefusesToRunAsManyCopies() throws {
        guard MPI.required() else { return }
        let result = try CLI.run(["memory", "--model", "mnist-mlp"], launcher: MPI.launcher(2))
        #expect(result.status != 0)
        #expect(result.error.contains("mpirun started 2 copies of a command that runs in one process"), "\(result.error)")
        #expect(result.output.isEmpty, "\(result.output)")
    }

    @Test func aBuildWithoutMPIRefusesToRunAsOneOfManyRanks() throws {
        // Only a build without MPI can show it; with MPI, a fake launch environment would make MPI_Init fail.
        guard !ProcessLaunch.mpiIsBuiltIn else { return }
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["gpt", "--iters", "1"]
        process.environment = ProcessInfo.processInfo.environment.merging(["OMPI_COMM_WORLD_SIZE": "2"]) { $1 }
        let error = Pipe()
        process.standardError = error
        process.standardOutput = Pipe()
        try process.run()
        let text = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(text.contains("built without MPI"), "\(text)")
    }
}
