import Optim
import TestSupport
import Testing

/// One step is one sweep over every parameter, whatever their sizes and wherever they live: the results are
/// bitwise the same in a ``ParameterArena`` as standalone, and on 1 thread as on 2.
struct ArenaSweepTests {
    /// Tensors of awkward sizes (0, 1, below and above a vector, above a thread's chunk), two groups.
    static let shapes: [[Int]] = [[1], [15], [16, 3], [17], [0], [300, 7], [40_000], [3], [70_001]]

    static func parameters(seed: UInt64) throws -> [Parameter] {
        var random = TestRandom(seed: seed)
        return try shapes.enumerated().map { index, shape in
            let count = shape.reduce(1, *)
            return try Parameter(name: "p\(index)", shape: shape, values: random.floats(count))
        }
    }

    /// Steps `kind` `steps` times over fresh parameters (in an arena or not) on `threads` threads, with a
    /// parameter left without a gradient on one step; returns every value and state buffer.
    static func run(_ kind: OptimizerKind, settings: [String: String], arena: Bool, threads: Int,
                    steps: Int = 4) throws -> [[Float]] {
        let params = try parameters(seed: 3)
        if arena { try ParameterArena.gather(params) }
        #expect(ParameterArena.shareOneBlock(params) == arena)
        let pool = try ThreadPool(threadCount: threads)
        return try ThreadPool.$current.withValue(pool) {
            let optimizer = try kind.makeOptimizer(params, settings: settings, excludingFromDecay: .biasesAndNorms)
            var random = TestRandom(seed: 11)
            for step in 0..<steps {
                optimizer.zeroGrad()
                for (index, parameter) in params.enumerated() where !(step == 1 && index == 2) {
                    let gradient = random.floats(parameter.count)
                    try gradient.withUnsafeBufferPointer { try parameter.accumulateGrad($0) }
                }
                try optimizer.step()
            }
            if arena {
                #expect(ParameterArena.shareOneBlock(params), "a step keeps the parameters in their arena")
                let blocks = params.compactMap { optimizer.state(for: $0) }.flatMap(\.blocks)
                #expect(!blocks.isEmpty && blocks.allSatisfy { $0 != nil && $0 == blocks[0] }, "the state lives in one block")
            }
            return params.map(\.values.array) + params.flatMap { parameter in
                (optimizer.state(for: parameter)?.buffers ?? []).map(\.buffer.values.array)
            }
        }
    }

    static let configurations: [(OptimizerKind, [String: String])] = [
        (.adamw, ["weight_decay": "0.1", "amsgrad": "true"]),
        (.adam, ["weight_decay": "0.01", "maximize": "true"]),
        (.sgd, ["momentum": "0.9", "nesterov": "true", "weight_decay": "0.01"]),
        (.rmsprop, ["momentum": "0.5", "centered": "true"]),
        (.adagrad, ["lr_decay": "0.1", "initial_accumulator_value": "0.2"]),
    ]

    @Test(arguments: configurations)
    func anArenaStepsBitwiseLikeStandaloneParametersOnAnyThreadCount(
        _ kind: OptimizerKind, _ settings: [String: String]
    ) throws {
        let reference = try Self.run(kind, settings: settings, arena: false, threads: 1)
        for (arena, threads) in [(true, 1), (false, 2), (true, 2)] {
            let result = try Self.run(kind, settings: settings, arena: arena, threads: threads)
            #expect(result.count == reference.count)
            for (ours, expected) in zip(result, reference) {
                #expect(ours.map(\.bitPattern) == expected.map(\.bitPattern),
                        "\(kind) arena \(arena), \(threads) threads")
            }
        }
    }

    /// The fused kernels under the sweep agree with each kernel's scalar reference, tensor by tensor.
    @Test func theSweepEqualsTheScalarReferencePerTensor() throws {
        let params = try Self.parameters(seed: 5)
        try ParameterArena.gather(params)
        let copies = try params.map { try Parameter(name: $0.name, shape: $0.shape, values: $0.values.array) }
        var random = TestRandom(seed: 2)
        for parameter in params { parameter.grad = FloatBuffer(random.floats(parameter.count)) }
        let optimizer = try AdamW(params, lr: 0.01, weightDecay: 0.1)
        try ThreadPool.$current.withValue(try ThreadPool(threadCount: 2)) { try optimizer.step() }
        let kernel = AdamStep(lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, decoupledDecay: 1 - 0.01 * 0.1,
                              l2: 0, amsgrad: false, maximize: false)
        for (parameter, copy) in zip(params, copies) {
            var values = copy.values, m = FloatBuffer(count: copy.count), v = FloatBuffer(count: copy.count)
            let grad = try #require(parameter.grad)
            values.withUnsafeMutablePointer { theta in
                grad.withUnsafePointer { g in
                    m.withUnsafeMutablePointer { m in
                        v.withUnsafeMutablePointer { v in
                            kernel.applyReference(param: theta, grad: g, expAvg: m, expAvgSq: v, maxExpAvgSq: nil,
                                                  count: copy.count)
                        }
                    }
                }
            }
            #expect(parameter.values.map(\.bitPattern) == values.map(\.bitPattern), "\(parameter.name)")
            #expect(optimizer.state(for: parameter)?[.expAvgSq] == v)
        }
    }

    @Test func aModulesParametersAndAStandaloneOneStepTogether() throws {
        let params = try Self.parameters(seed: 9)
        try ParameterArena.gather(Array(params.dropLast()))
        let optimizer = try SGD(params, lr: 0.1, momentum: 0.9)
        for parameter in params { parameter.grad = FloatBuffer(repeating: 1, count: parameter.count) }
        try optimizer.step()
        #expect(params.allSatisfy { optimizer.state(for: $0)?[.momentumBuffer]?.allSatisfy { $0 == 1 } == true })
    }
}

extension FloatBuffer {
    init(repeating value: Float, count: Int) { self.init(count: count, repeating: value) }
}
