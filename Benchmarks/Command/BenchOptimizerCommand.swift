import ArgumentParser
import Benchmarks
import CommandSupport
import Foundation
import Kernels
import Optim

struct BenchOptimizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizer",
        abstract: "Time AdamW, Adam, SGD with momentum and Schedule-Free AdamW steps next to a memory-traffic kernel.",
        discussion: """
            Each row times `optimizer.step()` on one parameter of N elements and, in the same run, a kernel with \
            the same loads and stores and almost no arithmetic (the ceiling). With --non-finite skip it also times \
            the gradient's write as backward() does it (finiteness checked on the way) next to a plain copy. With \
            --model it times one AdamW step over a model's whole parameter list instead (gpt2-small: GPT-2 small's \
            148 tensors, 124,439,808 parameters, nanoGPT's two groups; many-small: 10,000 tensors of 1,000), next \
            to the same kernel over one buffer set of the same total size, on 2 threads unless --threads says \
            otherwise. Build with -c release.
            """
    )

    @Option(name: .customLong("parameters"),
            help: "Only this many parameters, a count or one with K, M or G for 2^10, 2^20, 2^30 (default: 1K, 1M and 32M).")
    var parameterCount: ParameterCount?

    var parameters: Int? { parameterCount?.value }

    @Option(help: "Time one AdamW step over this model's parameter list instead of --parameters.")
    var model: BenchmarkModel?

    @Option(help: "Only this many threads (default: 1 and every processor; 2 with --model).")
    var threads: Int?

    @Option(help: "Samples per measurement; the median is reported.")
    var samples = 7

    @Option(help: "Policy for non-finite gradients: propagate (PyTorch), skip or throw.")
    var nonFinite: NonFiniteGradientPolicy = .propagate

    @Option(help: "Time AdamW with these states (bf16, int8 or int4; comma-separated) next to float32 states instead (default parameters 32M, every processor).")
    var states: String?

    /// The storages --states names.
    private func storages() throws -> [StateStorage]? {
        guard let states else { return nil }
        return try states.split(separator: ",", omittingEmptySubsequences: false).map { name in
            guard let storage = StateStorage(rawValue: String(name)), storage != .float32 else {
                throw ValidationError("--states must list one or more of bf16, int8 and int4, comma-separated, got '\(states)'")
            }
            return storage
        }
    }

    func validate() throws {
        if model != nil && parameters != nil {
            // One line, without the usage text a ValidationError adds: the two options do not combine.
            let message = "Error: --model and --parameters cannot be combined: the model fixes the parameter count\n"
            FileHandle.standardError.write(Data(message.utf8))
            throw ExitCode.validationFailure
        }
        if let parameters, parameters < 1 { throw ValidationError("--parameters must be at least 1, got \(parameters)") }
        // A tensor that a low-bit storage does not apply to keeps float32 states: timing it would time float32.
        if let parameters, let storage = try storages()?.first(where: { $0.storage(forCount: parameters) != $0 }) {
            throw ValidationError("--states \(storage.rawValue) applies to tensors of at least \(StateStorage.minimumQuantizedCount) "
                                  + "parameters, a multiple of its block size; --parameters \(parameters) would keep float32 states")
        }
        if let parameters {
            // The step's 5 buffers and the traffic kernel's 4, in Floats.
            try MemoryLimit.require("--parameters", String(parameters), needs: MemoryLimit.product([parameters, 9 * 4]),
                                    for: "the optimizer's and the traffic kernel's buffers")
        }
        try ThreadsOption.check(threads)
        if samples < 1 { throw ValidationError("--samples must be at least 1, got \(samples)") }
        if try storages() != nil, model != nil { throw ValidationError("--states and --model cannot be combined") }
    }

    func run() throws {
        let benchmark = makeBenchmark()
        if let storages = try storages() {
            // Traffic per parameter: θ read and written and g read (12 bytes), m and v each read and written in
            // their storage, scales included.
            func traffic(_ storage: StateStorage, _ count: Int) -> Double {
                12 + 4 * Double(storage.bytes(forCount: count)) / Double(count)
            }
            let widths = [6, 10, 7, 8, 8, 5, 6]
            print(tableRow(["states", "parameters", "threads", "Gparam/s", "fp32", "ratio", "B/param"], widths: widths))
            var lines: [String] = []
            let threadCount = threads ?? ThreadPool.machine.threadCount
            for size in parameters.map({ [$0] }) ?? [1 << 25] {
                for storage in storages {
                    let result = try benchmark.measure(states: storage, parameters: size, threads: threadCount)
                    print(tableRow([storage.rawValue, "\(size)", "\(threadCount)", format(result.gigaParametersPerSecond, 3),
                                    format(result.float32GigaParametersPerSecond, 3),
                                    format(result.gigaParametersPerSecond / result.float32GigaParametersPerSecond, 2),
                                    format(traffic(storage, size), 1)], widths: widths))
                    lines.append("summary optimizer=adamw states=\(storage.rawValue) parameters=\(size) threads=\(threadCount) "
                                 + "gparams_per_s=\(format(result.gigaParametersPerSecond, 3)) "
                                 + "fp32_gparams_per_s=\(format(result.float32GigaParametersPerSecond, 3)) cpu=\(CPUPath.current.rawValue)")
                }
            }
            for line in lines { print(line) }
            return
        }
        if let model {
            let result = try benchmark.measure(model, threads: threads ?? 2)
            print("\(model.rawValue): \(result.tensors) tensors, \(result.parameters) parameters")
            print(tableRow(Self.header, widths: Self.widths))
            print(tableRow(Self.cells(result), widths: Self.widths))
            print(result.summaryLine)
            return
        }
        let sizes = parameters.map { [$0] } ?? [1 << 10, 1 << 20, 1 << 25]
        let machineThreads = ThreadPool.machine.threadCount
        let threadCounts = threads.map { [$0] } ?? Array(Set([1, machineThreads])).sorted()
        print(tableRow(Self.header, widths: Self.widths))
        var results: [OptimizerBenchmark.Result] = []
        for kind in OptimizerBenchmark.Kind.allCases {
            for size in sizes {
                for threadCount in threadCounts {
                    let result = try benchmark.measure(kind, parameters: size, threads: threadCount)
                    results.append(result)
                    print(tableRow(Self.cells(result), widths: Self.widths))
                }
            }
        }
        if nonFinite == .skip {
            // The skip policy's check rides on the gradient's write in backward(); show that it costs no pass.
            print("")
            print(tableRow(["gradient write", "parameters", "checking", "plain", "ratio"], widths: [14, 10, 8, 8, 5]))
            for size in sizes {
                let (checking, plain) = try benchmark.measureGradientWrite(parameters: size)
                print(tableRow(["", "\(size)", format(checking, 3), format(plain, 3), format(checking / plain, 2)],
                               widths: [14, 10, 8, 8, 5]))
            }
        }
        for result in results { print(result.summaryLine) }
    }

    private func makeBenchmark() -> OptimizerBenchmark {
        var benchmark = OptimizerBenchmark()
        benchmark.samples = samples
        benchmark.nonFiniteGradients = nonFinite
        return benchmark
    }

    private static let header = ["optimizer", "parameters", "threads", "Gparam/s", "ceiling", "ratio", "GB/s"]
    private static let widths = [9, 10, 7, 8, 7, 5, 6]

    private static func cells(_ result: OptimizerBenchmark.Result) -> [String] {
        [
            result.kind.rawValue, "\(result.parameters)", "\(result.threads)",
            format(result.gigaParametersPerSecond, 3),
            format(result.ceilingGigaParametersPerSecond, 3),
            format(result.gigaParametersPerSecond / result.ceilingGigaParametersPerSecond, 2),
            format(result.gigaParametersPerSecond * Double(result.bytesPerParameter), 1),
        ]
    }
}

extension BenchmarkModel: ExpressibleByArgument {}

extension OptimizerBenchmark.Result {
    /// The line the issue tracker and scripts read; with a model it names the model and its tensor count.
    var summaryLine: String {
        "summary optimizer=\(kind.rawValue) "
            + (model.map { "model=\($0.rawValue) tensors=\(tensors) " } ?? "")
            + "parameters=\(parameters) threads=\(threads) "
            + "gparams_per_s=\(format(gigaParametersPerSecond, 3)) "
            + "ceiling_gparams_per_s=\(format(ceilingGigaParametersPerSecond, 3)) cpu=\(CPUPath.current.rawValue)"
    }
}
extension NonFiniteGradientPolicy: ExpressibleByArgument {}

/// A parameter count as the help writes one: digits, optionally followed by K, M or G (2^10, 2^20, 2^30), so that
/// `--parameters 32M` means what the default's "32M" means. Anything else, or a count past Int's range, is not one.
struct ParameterCount: ExpressibleByArgument {
    let value: Int

    init?(argument: String) {
        let scales: [Character: Int] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        var digits = Substring(argument)
        var scale = 1
        if let last = digits.last, let factor = scales[Character(last.lowercased())] {
            scale = factor
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let count = Int(digits) else {
            return nil
        }
        let (scaled, overflow) = count.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        value = scaled
    }
}
