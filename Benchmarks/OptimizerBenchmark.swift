import Kernels
import Optim

#if canImport(Glibc)
import Glibc
#endif

/// Times one optimizer step through the public API (`optimizer.step()` on one `Parameter`, or on a
/// ``BenchmarkModel``'s whole parameter list) against ``TrafficKernel`` over buffers of the same total size, in the
/// same run, and reports parameters per second. It returns numbers only; the CLI formats them.
public struct OptimizerBenchmark {
    public enum Kind: String, CaseIterable, Sendable {
        case adamw, adam, sgd
        case adamwScheduleFree = "adamw-schedulefree"

        var stateBuffers: Int { self == .sgd ? 1 : 2 }
    }

    public struct Result: Sendable {
        public let kind: Kind
        /// The model whose parameter list was stepped, or nil for one tensor of `parameters` elements.
        public let model: BenchmarkModel?
        /// The number of parameter tensors.
        public let tensors: Int
        public let parameters: Int
        public let threads: Int
        /// Median parameters per second of the optimizer step, in billions.
        public let gigaParametersPerSecond: Double
        /// Median parameters per second of the traffic kernel, in billions.
        public let ceilingGigaParametersPerSecond: Double
        public let bytesPerParameter: Int
    }

    /// Samples per measurement; the median is reported.
    public var samples = 7
    /// The optimizers' policy for non-finite gradients. With `.skip` the gradient's finiteness is read on the first
    /// step and then known, as it is for gradients that backward() writes.
    public var nonFiniteGradients: NonFiniteGradientPolicy = .propagate
    /// Each sample repeats the step until it takes at least this long, so small sizes are timed reliably.
    public var minimumSampleSeconds = 0.02

    public init() {}

    /// Measures `kind` on one parameter of `parameters` elements on `threads` threads. The optimizer and the
    /// traffic kernel alternate sample by sample, so drift in the machine's speed affects both alike.
    public func measure(_ kind: Kind, parameters: Int, threads: Int) throws -> Result {
        let pool = try ThreadPool(threadCount: threads)
        return try ThreadPool.$current.withValue(pool) {
            let parameter = try makeParameters([BenchmarkModel.Tensor(name: "p", shape: [parameters])])[0]
            var grad = FloatBuffer(count: parameters)
            grad.withUnsafeMutableBufferPointer { g in
                for i in 0..<parameters { g[i] = 0.01 * Float(i % 7) - 0.03 }
            }
            parameter.grad = grad
            let optimizer: any Optimizer = switch kind {
            case .adamw: try AdamW([parameter], lr: 1e-3)
            case .adam: try Adam([parameter], lr: 1e-3, weightDecay: 0.01)
            case .sgd: try SGD([parameter], lr: 1e-3, momentum: 0.9)
            case .adamwScheduleFree: try Self.trainMode(AdamWScheduleFree([parameter], lr: 1e-3, weightDecay: 0.01))
            }
            return try timeSteps(of: optimizer, kind: kind, model: nil, tensors: 1, grad: grad, threads: threads)
        }
    }

    /// `optimizer` in train mode, where it steps.
    private static func trainMode(_ optimizer: AdamWScheduleFree) -> AdamWScheduleFree {
        optimizer.train()
        return optimizer
    }

    /// Measures one AdamW step over `model`'s parameter list on `threads` threads, built as a user builds it
    /// (GPT-2: nanoGPT's two groups, decay on the ≥ 2-D tensors only; many-small: one group), next to the traffic
    /// kernel over one buffer set of the same total size, alternating sample by sample.
    public func measure(_ model: BenchmarkModel, threads: Int) throws -> Result {
        let pool = try ThreadPool(threadCount: threads)
        return try ThreadPool.$current.withValue(pool) {
            let tensors = model.tensors
            let params = try makeParameters(tensors)
            let total = params.reduce(0) { $0 + $1.count }
            // Each parameter's gradient is its slice of one pseudo-random gradient.
            let grad = Self.pseudoRandomGradient(count: total)
            try grad.withUnsafeBufferPointer { g in
                var offset = 0
                for parameter in params {
                    let slice = UnsafeBufferPointer(rebasing: g[offset..<offset + parameter.count])
                    try parameter.accumulateGrad(slice)  // into the arena's gradient memory, as backward() does
                    offset += parameter.count
                }
            }
            let groups: [ParamGroup<AdamOptions>] = switch model {
            case .gpt2Small: WeightDecayRule.biasesAndNorms.groups(params)
            case .manySmall: [ParamGroup(params: params)]
            }
            let optimizer = try AdamW(groups, lr: 6e-4, weightDecay: 0.1)
            return try timeSteps(of: optimizer, kind: .adamw, model: model, tensors: tensors.count, grad: grad,
                                 threads: threads)
        }
    }

    /// AdamW with `storage` states next to AdamW with float32 states, each on its own parameter of `parameters`
    /// elements with the same gradient, on `threads` threads, alternating sample by sample; billions of parameters
    /// a second (medians) of each.
    public func measure(states storage: StateStorage, parameters: Int, threads: Int) throws
        -> (gigaParametersPerSecond: Double, float32GigaParametersPerSecond: Double)
    {
        let pool = try ThreadPool(threadCount: threads)
        return try ThreadPool.$current.withValue(pool) {
            let params = try makeParameters([BenchmarkModel.Tensor(name: "low", shape: [parameters]),
                                             BenchmarkModel.Tensor(name: "fp32", shape: [parameters])])
            let grad = Self.pseudoRandomGradient(count: parameters)
            for parameter in params { parameter.grad = grad }
            let low = try AdamW([params[0]], lr: 1e-3, weightDecay: 0.01, states: storage)
            let full = try AdamW([params[1]], lr: 1e-3, weightDecay: 0.01)
            for optimizer in [low, full] as [any Optimizer] {
                optimizer.nonFiniteGradients = nonFiniteGradients
                try optimizer.step()  // creates the state: not part of a steady-state step
            }
            let lowRepeats = repeatsFor { try? low.step() }, fullRepeats = repeatsFor { try? full.step() }
            var lowRates: [Double] = [], fullRates: [Double] = []
            for _ in 0..<samples {
                lowRates.append(Double(parameters * lowRepeats) / seconds(lowRepeats) { try? low.step() })
                fullRates.append(Double(parameters * fullRepeats) / seconds(fullRepeats) { try? full.step() })
            }
            return (median(lowRates) / 1e9, median(fullRates) / 1e9)
        }
    }

    /// A fixed pseudo-random gradient: a 32-bit LCG's values in ±1e-3.
    static func pseudoRandomGradient(count: Int) -> FloatBuffer {
        var grad = FloatBuffer(count: count)
        grad.withUnsafeMutableBufferPointer { g in
            var state: UInt32 = 0x2545_F491
            for i in 0..<count {
                state = state &* 1_664_525 &+ 1_013_904_223
                g[i] = (Float(state >> 8) / Float(1 << 24) - 0.5) * 2e-3
            }
        }
        return grad
    }

    /// The benchmark's parameters, one a tensor, values 1 and no gradient, gathered in one ``ParameterArena``
    /// block as a model's are. Every parameter the benchmark steps is made here.
    func makeParameters(_ tensors: [BenchmarkModel.Tensor]) throws -> [Parameter] {
        let parameters = try tensors.map { tensor in
            let values = FloatBuffer(count: tensor.shape.reduce(1, *), repeating: 1)
            return try Parameter(name: tensor.name, shape: tensor.shape, values: values)
        }
        try ParameterArena.gather(parameters)
        return parameters
    }

    /// Times `optimizer.step()` against the traffic kernel over buffers of `grad.count` elements (`grad` is the
    /// parameters' gradient laid out in one buffer), alternating sample by sample; reports the medians.
    private func timeSteps(
        of optimizer: any Optimizer, kind: Kind, model: BenchmarkModel?, tensors: Int, grad: FloatBuffer, threads: Int
    ) throws -> Result {
        let parameters = grad.count
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
            kind: kind, model: model, tensors: tensors, parameters: parameters, threads: threads,
            gigaParametersPerSecond: median(stepRates) / 1e9,
            ceilingGigaParametersPerSecond: median(trafficRates) / 1e9,
            bytesPerParameter: traffic.bytesPerParameter)
    }

    /// How fast `backward()` writes a gradient of `parameters` elements into a parameter (``Parameter/accumulateGrad(_:)``,
    /// which learns on the way whether every element is finite, so that a skipping step needs no pass of its own)
    /// next to a plain copy of the same bytes, in billions of elements per second (medians).
    public func measureGradientWrite(parameters: Int) throws -> (checking: Double, plain: Double) {
        let parameter = try makeParameters([BenchmarkModel.Tensor(name: "p", shape: [parameters])])[0]
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
