import Kernels
import Optim

#if canImport(Glibc)
import Glibc
#endif

/// Times one optimizer step through the public API (`optimizer.step()` on a `Parameter`) against
/// ``TrafficKernel`` over buffers of the same size, in the same run, and reports parameters per second.
public struct OptimizerBenchmark {
    public enum Kind: String, CaseIterable, Sendable {
        case adamw, adam, sgd

        var stateBuffers: Int { self == .sgd ? 1 : 2 }
    }

    public struct Result: Sendable {
        public let kind: Kind
        public let parameters: Int
        public let threads: Int
        /// Median parameters per second of the optimizer step, in billions.
        public let gigaParametersPerSecond: Double
        /// Median parameters per second of the traffic kernel, in billions.
        public let ceilingGigaParametersPerSecond: Double
        public let bytesPerParameter: Int

        /// The line the issue tracker and scripts read.
        public var summaryLine: String {
            "summary optimizer=\(kind.rawValue) parameters=\(parameters) threads=\(threads) "
                + "gparams_per_s=\(format(gigaParametersPerSecond, 3)) "
                + "ceiling_gparams_per_s=\(format(ceilingGigaParametersPerSecond, 3))"
        }
    }

    /// Samples per measurement; the median is reported.
    public var samples = 7
    /// The optimizers' policy for non-finite gradients. With `.skip` the gradient's finiteness is read on the first
    /// step and then known, as it is for gradients that backward() writes.
    public var nonFiniteGradients: NonFiniteGradientPolicy = .propagate
    /// Each sample repeats the step until it takes at least this long, so small sizes are timed reliably.
    public var minimumSampleSeconds = 0.02

    public init() {}

    /// Measures `kind` at `parameters` on `threads` threads. The optimizer and the traffic kernel alternate
    /// sample by sample, so drift in the machine's speed affects both alike.
    public func measure(_ kind: Kind, parameters: Int, threads: Int) throws -> Result {
        let pool = try ThreadPool(threadCount: threads)
        return try ThreadPool.$current.withValue(pool) {
            let parameter = try Parameter(name: "p", shape: [parameters], values: FloatBuffer(count: parameters))
            var grad = FloatBuffer(count: parameters)
            grad.withUnsafeMutableBufferPointer { g in
                for i in 0..<parameters { g[i] = 0.01 * Float(i % 7) - 0.03 }
            }
            parameter.values.fill(with: 1)
            parameter.grad = grad
            let optimizer: Optimizer = switch kind {
            case .adamw: try AdamW([parameter], lr: 1e-3)
            case .adam: try Adam([parameter], lr: 1e-3, weightDecay: 0.01)
            case .sgd: try SGD([parameter], lr: 1e-3, momentum: 0.9)
            }
            optimizer.nonFiniteGradients = nonFiniteGradients
            try optimizer.step()  // creates the state buffers: not part of a steady-state step

            let traffic = TrafficKernel(stateBuffers: kind.stateBuffers)
            var state0 = FloatBuffer(count: parameters), state1 = FloatBuffer(count: parameters)
            var values = FloatBuffer(count: parameters, repeating: 1)
            let runTraffic = {
                values.withUnsafeMutablePointer { p in
                    grad.withUnsafePointer { g in
                        state0.withUnsafeMutablePointer { s0 in
                            state1.withUnsafeMutablePointer { s1 in
                                traffic.run(param: p, grad: g, state0: s0, state1: kind.stateBuffers == 2 ? s1 : nil,
                                            count: parameters)
                            }
                        }
                    }
                }
            }
            runTraffic()

            let stepRepeats = repeatsFor { try? optimizer.step() }
            let trafficRepeats = repeatsFor(runTraffic)
            var stepRates: [Double] = [], trafficRates: [Double] = []
            for _ in 0..<samples {
                stepRates.append(Double(parameters * stepRepeats) / seconds(stepRepeats) { try? optimizer.step() })
                trafficRates.append(Double(parameters * trafficRepeats) / seconds(trafficRepeats, runTraffic))
            }
            return Result(
                kind: kind, parameters: parameters, threads: threads,
                gigaParametersPerSecond: median(stepRates) / 1e9,
                ceilingGigaParametersPerSecond: median(trafficRates) / 1e9,
                bytesPerParameter: traffic.bytesPerParameter)
        }
    }

    /// How fast `backward()` writes a gradient of `parameters` elements into a parameter (``Parameter/accumulateGrad(_:)``,
    /// which learns on the way whether every element is finite, so that a skipping step needs no pass of its own)
    /// next to a plain copy of the same bytes, in billions of elements per second (medians).
    public func measureGradientWrite(parameters: Int) throws -> (checking: Double, plain: Double) {
        let parameter = try Parameter(name: "p", shape: [parameters])
        let source = FloatBuffer(count: parameters, repeating: 0.25)
        var target = FloatBuffer(count: parameters)
        let write = {
            parameter.zeroGrad()  // keeps the buffer for reuse, as between training steps
            source.withUnsafeBufferPointer { try? parameter.accumulateGrad($0) }
        }
        let copy = {
            source.withUnsafePointer { from in target.withUnsafeMutablePointer { $0.update(from: from, count: parameters) } }
        }
        write()
        copy()
        let writeRepeats = repeatsFor(write), copyRepeats = repeatsFor(copy)
        var checking: [Double] = [], plain: [Double] = []
        for _ in 0..<samples {
            checking.append(Double(parameters * writeRepeats) / seconds(writeRepeats, write))
            plain.append(Double(parameters * copyRepeats) / seconds(copyRepeats, copy))
        }
        return (median(checking) / 1e9, median(plain) / 1e9)
    }

    private func repeatsFor(_ body: () -> Void) -> Int {
        var repeats = 1
        while seconds(repeats, body) < minimumSampleSeconds && repeats < 1 << 24 { repeats *= 2 }
        return repeats
    }

    private func seconds(_ repeats: Int, _ body: () -> Void) -> Double {
        let start = monotonicSeconds()
        for _ in 0..<repeats { body() }
        return monotonicSeconds() - start
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

/// `value` with `digits` decimals, without Foundation.
public func format(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    var fraction = String(Int(scaled - Double(whole) * scale))
    while fraction.count < digits { fraction = "0" + fraction }
    let sign = value < 0 && scaled != 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
}
