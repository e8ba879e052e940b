import ArgumentParser
import Benchmarks
import Kernels
import Optim

struct BenchOptimizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizer",
        abstract: "Time AdamW, Adam and SGD with momentum steps next to a memory-traffic kernel.",
        discussion: """
            Each row times `optimizer.step()` on one parameter of N elements and, in the same run, a kernel with \
            the same loads and stores and almost no arithmetic (the ceiling). With --non-finite skip it also times \
            the gradient's write as backward() does it (finiteness checked on the way) next to a plain copy. Build \
            with -c release.
            """
    )

    @Option(help: "Only this many parameters (default: 1K, 1M and 32M).")
    var parameters: Int?

    @Option(help: "Only this many threads (default: 1 and every processor).")
    var threads: Int?

    @Option(help: "Samples per measurement; the median is reported.")
    var samples = 7

    @Option(help: "Policy for non-finite gradients: propagate (PyTorch), skip or throw.")
    var nonFinite: NonFinitePolicyArgument = .propagate

    enum NonFinitePolicyArgument: String, ExpressibleByArgument, CaseIterable { case propagate, skip, `throw` }

    func validate() throws {
        if let parameters, parameters < 1 { throw ValidationError("--parameters must be at least 1, got \(parameters)") }
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, got \(threads)")
        }
        if samples < 1 { throw ValidationError("--samples must be at least 1, got \(samples)") }
    }

    func run() throws {
        let sizes = parameters.map { [$0] } ?? [1 << 10, 1 << 20, 1 << 25]
        let machineThreads = ThreadPool.machine.threadCount
        let threadCounts = threads.map { [$0] } ?? Array(Set([1, machineThreads])).sorted()
        var benchmark = OptimizerBenchmark()
        benchmark.samples = samples
        benchmark.nonFiniteGradients = switch nonFinite {
        case .propagate: .propagate
        case .skip: .skip
        case .throw: .throw
        }
        let header = ["optimizer", "parameters", "threads", "Gparam/s", "ceiling", "ratio", "GB/s"]
        let widths = [9, 10, 7, 8, 7, 5, 6]
        print(tableRow(header, widths: widths))
        var results: [OptimizerBenchmark.Result] = []
        for kind in OptimizerBenchmark.Kind.allCases {
            for size in sizes {
                for threadCount in threadCounts {
                    let result = try benchmark.measure(kind, parameters: size, threads: threadCount)
                    results.append(result)
                    print(tableRow([
                        kind.rawValue, "\(size)", "\(threadCount)",
                        format(result.gigaParametersPerSecond, 3),
                        format(result.ceilingGigaParametersPerSecond, 3),
                        format(result.gigaParametersPerSecond / result.ceilingGigaParametersPerSecond, 2),
                        format(result.gigaParametersPerSecond * Double(result.bytesPerParameter), 1),
                    ], widths: widths))
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

}
