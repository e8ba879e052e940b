import Foundation
import Optim
import TestSupport
import Testing

/// bfloat16, 8-bit and 4-bit optimizer states: torchao's trajectories step by step, the bfloat16 kernel against a
/// scalar reference, the codes against the quantization rule, edge blocks, non-finite blocks, checkpoints (as
/// stored, and converted between storages), and the same bits on one and two threads.
struct LowBitStateTests {
    static let file = "adamw_lowbit.json"

    // MARK: - torchao's AdamW8bit and AdamW4bit

    /// Every case of `adamw_lowbit.json`, each step started from the reference's own parameters and states (its
    /// codes and scales loaded as a checkpoint of this optimizer would hold them), as the reference README says:
    /// parameters within 1e-6 + 1e-5·|torchao|, scales within 1e-6 relative, at most 1 in 10,000 codes off, by one.
    @Test func everyReferenceCaseMatchesTorchaoStepByStep() throws {
        // meta.maps is read by theMapsAreTorchaos.
        let cases = try Fixtures.cases(Self.file, meta: ["maps"])
        for c in cases { try runLowBitCase(c) }
    }

    /// The keys of a case, and of its `options`, that the test reads. An option torchao's AdamW8bit/4bit has and
    /// these lack (amsgrad, …) fails the case rather than running without it.
    static let caseKeys: Set<String> = ["name", "states", "shapes", "options", "lr_changes", "initial", "grads",
                                        "expected", "state_after_each_step"]
    static let optionKeys: Set<String> = ["lr", "betas", "eps", "weight_decay"]

    /// The keys of one parameter's state in `state_after_each_step` that the test does not read: its buffers, and in
    /// each either `float32` or `codes` and `scale`.
    static func unknownStateKeys(_ state: [String: [String: Any]], path: String) -> [String] {
        var unknown = (state as [String: Any]).unknownKeys(understood: ["exp_avg", "exp_avg_sq"], path: path)
        for (buffer, stored) in state {
            let understood: Set<String> = stored["float32"] != nil ? ["float32"] : ["codes", "scale"]
            unknown += stored.unknownKeys(understood: understood, path: "\(path)\(buffer).")
        }
        return unknown.sorted()
    }

    private func runLowBitCase(_ c: [String: Any]) throws {
        let name: String = try c.value("name")
        let context = "\(Self.file) case '\(name)'"
        try rejectUnknownKeys(of: c, understood: Self.caseKeys, in: context)
        guard let storage = StateStorage(rawValue: try c.value("states", as: String.self)) else {
            throw FixtureError("\(name): unknown states")
        }
        let shapes: [[Int]] = try c.value("shapes")
        let options: [String: Any] = try c.value("options")
        try rejectUnknownKeys(of: options, understood: Self.optionKeys, path: "options.", in: context)
        let betas: [Double] = try options.value("betas")
        let lrChanges: [String: Any] = c["lr_changes"] == nil ? [:] : try c.value("lr_changes")
        var lr: Double = try options.value("lr")
        let initial = try (c.value("initial") as [Any]).map(floats)
        let grads: [[Any]] = try c.value("grads")
        let expected: [[Any]] = try c.value("expected")
        let states: [[[String: [String: Any]]]] = try c.value("state_after_each_step")
        guard grads.count == expected.count, states.count == grads.count, !grads.isEmpty else {
            throw FixtureError("\(name): grads, expected and states differ in length")
        }
        try rejectUnknownKeys(unknownStepKeys(lrChanges, steps: grads.count, path: "lr_changes."), in: context)
        for (step, parameters) in states.enumerated() {
            for (i, state) in parameters.enumerated() {
                try rejectUnknownKeys(
                    Self.unknownStateKeys(state, path: "state_after_each_step[\(step)][\(i)]."), in: context)
            }
        }
        var codes = 0, codesOff = 0
        for step in grads.indices {
            if let change = lrChanges[String(step)] {
                // One group: one lr, alone or in a list of one.
                let list = change as? [NSNumber]
                guard list == nil || list?.count == 1 else { throw FixtureError("\(name): lr_changes for one group") }
                lr = try (list?.first ?? (change as? NSNumber)).map(\.doubleValue)
                    ?? { throw FixtureError("\(name): unreadable lr change") }()
            }
            let start = step == 0 ? initial : try (expected[step - 1]).map(floats)
            let params = try shapes.enumerated().map { i, shape in
                try Parameter(name: "p\(i)", shape: shape, values: start[i])
            }
            let optimizer = try AdamW(params, lr: lr, betas: (betas[0], betas[1]), eps: try options.value("eps"),
                                      weightDecay: try options.value("weight_decay"), states: storage)
            if step > 0 {
                var state = optimizer.stateDict()
                for (i, parameter) in params.enumerated() {
                    try Self.add(states[step - 1][i], of: parameter, step: step, storage: storage, to: &state)
                }
                try optimizer.load(stateDict: state)
            }
            for (i, parameter) in params.enumerated() { parameter.grad = FloatBuffer(try floats(grads[step][i])) }
            try optimizer.step()
            let saved = optimizer.stateDict()
            for (i, parameter) in params.enumerated() {
                let mismatch = firstMismatch(parameter.values.array, try floats(expected[step][i]), atol: 1e-6, rtol: 1e-5)
                #expect(mismatch == nil, "\(name) step \(step) param \(i): \(mismatch ?? "")")
                for buffer in ["exp_avg", "exp_avg_sq"] {
                    guard let reference = states[step][i][buffer] else { throw FixtureError("\(name): no \(buffer)") }
                    let key = "state.p\(i).\(buffer)"
                    let tensor = try #require(saved.tensors[key], "\(name): no \(key)")
                    if let values = reference["float32"] {
                        #expect(tensor.elementType == .float32, "\(name) \(key) should stay float32")
                        let mismatch = firstMismatch(tensor.values.array, try floats(values), atol: 1e-6, rtol: 1e-5)
                        #expect(mismatch == nil, "\(name) step \(step) \(key): \(mismatch ?? "")")
                        continue
                    }
                    let wantCodes: [Int] = try reference.value("codes")
                    let ours = Self.codes(tensor, count: parameter.count, storage: storage)
                    for (a, b) in zip(ours, wantCodes) where a != b {
                        codesOff += 1
                        #expect(abs(a - b) == 1, "\(name) step \(step) \(key): code \(a), torchao \(b)")
                    }
                    codes += wantCodes.count
                    let scales = try #require(saved.tensors[key + ".scales"]).values.array
                    let wantScales = try floats(reference.value("scale"))
                    let worst = zip(scales, wantScales).map { abs(Double($0) - Double($1)) / abs(Double($1)) }.max() ?? 0
                    #expect(scales.count == wantScales.count && worst <= 1e-6, "\(name) step \(step) \(key) scales: \(worst)")
                }
            }
        }
        #expect(codes > 0 && codesOff * 10_000 <= codes, "\(name): \(codesOff) of \(codes) codes differ")
    }

    /// Adds the reference's state of one parameter to `state` in this optimizer's checkpoint layout.
    static func add(_ reference: [String: [String: Any]], of parameter: Parameter, step: Int, storage: StateStorage,
                    to state: inout StateDict) throws {
        let prefix = "state.\(parameter.name)."
        state.metadata[prefix + "step"] = String(step)
        var quantized = false
        for (buffer, stored) in reference {
            let key = prefix + buffer
            if let values = stored["float32"] {
                state.tensors[key] = .init(shape: parameter.shape, values: FloatBuffer(try floats(values)))
                continue
            }
            quantized = true
            let codes: [Int] = try stored.value("codes")
            let bytes: [UInt8] = storage == .int8
                ? codes.map(UInt8.init)
                : stride(from: 0, to: codes.count, by: 2).map { UInt8(codes[$0] << 4 | codes[$0 + 1]) }
            bytes.withUnsafeBytes { raw in
                state.tensors[key] = .init(shape: [bytes.count], bytes: raw, elementType: .uint8)
            }
            let scales = try floats(stored.value("scale"))
            state.tensors[key + ".scales"] = .init(shape: [scales.count], values: FloatBuffer(scales))
            state.metadata[key + ".map"] = StateBuffer.map(for: try #require(AdamRule.buffers.first { $0.name.rawValue == buffer }), in: storage)?.name
        }
        if quantized { state.metadata[prefix + "storage"] = storage.rawValue }
    }

    /// The codes of a saved U8 tensor, one per element.
    static func codes(_ tensor: StateDict.TensorData, count: Int, storage: StateStorage) -> [Int] {
        tensor.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> [Int] in
            (0..<count).map { (i: Int) -> Int in
                let byte = storage == .int8 ? bytes[i] : bytes[i / 2]
                if storage == .int8 { return Int(byte) }
                return Int(i % 2 == 0 ? byte >> 4 : byte & 15)
            }
        }
    }

    /// The maps are torchao's, value for value.
    @Test func theMapsAreTorchaos() throws {
        let file = try Fixtures.json(Self.file)
        // cases is read by everyReferenceCaseMatchesTorchaoStepByStep.
        try Fixtures.checkFileKeys(file, of: Self.file, reading: ["cases"], meta: ["maps"])
        guard let meta = file["meta"] as? [String: Any],
              let maps = meta["maps"] as? [String: [String: Any]] else { throw FixtureError("no meta.maps") }
        try rejectUnknownKeys(of: maps as [String: Any], understood: ["int8", "int4"], path: "meta.maps.", in: Self.file)
        for (bits, map) in maps {
            try rejectUnknownKeys(of: map, understood: ["signed", "unsigned", "block_size"], path: "meta.maps.\(bits).",
                                  in: Self.file)
        }
        for (bits, signed, unsigned) in [("int8", QuantizationMap.int8Signed, QuantizationMap.int8Unsigned),
                                         ("int4", QuantizationMap.int4Signed, QuantizationMap.int4Unsigned)] {
            guard let reference = maps[bits] else { throw FixtureError("no \(bits) maps") }
            #expect(signed.values == (try floats(reference.value("signed"))), "\(bits) signed")
            #expect(unsigned.values == (try floats(reference.value("unsigned"))), "\(bits) unsigned")
            #expect(signed.blockSize == (try reference.value("block_size", as: Int.self)))
        }
    }

    /// A state key the step-by-step test does not read is reported, inside a buffer and beside the buffers.
    @Test func anUnknownStateKeyIsReported() {
        let state: [String: [String: Any]] = [
            "exp_avg": ["codes": [1, 2], "scale": [0.5], "zero_point": [0]], "exp_avg_sq": ["float32": [0.25]],
            "max_exp_avg_sq": ["float32": [0.25]],
        ]
        #expect(Self.unknownStateKeys(state, path: "s.") == ["s.exp_avg.zero_point", "s.max_exp_avg_sq"])
    }

    // MARK: - The quantization rule

    /// The threshold count gives torchao's code (search, then ties up) around every threshold and at random.
    @Test func codesFollowTheRuleAtEveryBoundary() {
        var random = TestRandom(seed: 5)
        for map in QuantizationMap.all {
            for threshold in map.thresholds {
                var y = threshold.nextDown.nextDown
                for _ in 0..<5 {
                    #expect(map.code(of: y) == map.referenceCode(of: y), "\(map.name) at \(y)")
                    y = y.nextUp
                }
            }
            for _ in 0..<20_000 {
                let y = random.float() * (random.float() > 0 ? 1 : 1e-4)
                let inRange = map.isSigned ? y : abs(y)
                #expect(map.code(of: inRange) == map.referenceCode(of: inRange), "\(map.name) at \(inRange)")
            }
            #expect(map.code(of: .nan) == 0 && map.referenceCode(of: .nan) == 0)
        }
    }

    /// The fused kernel's codes follow the rule at every threshold, for scales that make y = x / scale a rounded
    /// division (the kernel computes it by a reciprocal and a correction): with β1 = β2 = 0 a step stores m = g and
    /// v = g², so gradients whose quotients land within ±2 ulps of each threshold (one element of each block set to
    /// the scale) must be coded as the rule codes the divided values. At 1.2e19 v's scale (1.4e38) has a subnormal
    /// reciprocal, which the kernel must not use; at 1.7e38 m's does, and g² overflows, so v's blocks are NaN.
    @Test(arguments: [StateStorage.int8, .int4], [Float(1), 0.731_613_3, 3.133_7e-3, 4.1e-9, 1.2e19, 1.7e38])
    func theKernelCodesEveryThresholdAsTheRuleDoes(_ storage: StateStorage, _ scale: Float) throws {
        let signed = try #require(storage.signedMap), unsigned = try #require(storage.unsignedMap)
        let block = signed.blockSize
        var gradient: [Float] = []
        for target in signed.thresholds.map({ $0 * scale }) + unsigned.thresholds.map({ $0.squareRoot() * scale }) {
            var y = target.nextDown.nextDown
            for _ in 0..<5 { gradient.append(y); y = y.nextUp }
        }
        // Whole blocks, each starting with the scale; at least 4096 elements, so the tensor is quantized.
        var values: [Float] = []
        for (index, g) in gradient.enumerated() {
            if values.count % block == 0 { values.append(scale) }
            values.append(min(index % 2 == 0 ? g : -g, scale))
        }
        while values.count % block != 0 || values.count < StateStorage.minimumQuantizedCount {
            values.append(values.count % block == 0 ? scale : 0.5 * scale)
        }
        let parameter = try Parameter(name: "w", shape: [values.count], values: [Float](repeating: 0, count: values.count))
        let optimizer = try AdamW([parameter], lr: 0, betas: (0, 0), weightDecay: 0, states: storage)
        parameter.grad = FloatBuffer(values)
        try optimizer.step()
        let saved = optimizer.stateDict()
        let m = Self.codes(try #require(saved.tensors["state.w.exp_avg"]), count: values.count, storage: storage)
        let v = Self.codes(try #require(saved.tensors["state.w.exp_avg_sq"]), count: values.count, storage: storage)
        let mScales = try #require(saved.tensors["state.w.exp_avg.scales"]).values.array
        let vScales = try #require(saved.tensors["state.w.exp_avg_sq.scales"]).values.array
        #expect(mScales.allSatisfy { $0 == scale })
        if (scale * scale).isFinite {
            #expect(vScales.allSatisfy { $0 == max(scale * scale, 1e-12) })
        } else {
            #expect(vScales.allSatisfy { $0.isNaN }, "g² overflows: v = lerp(0, ∞, 1) = ∞ − ∞·0")
        }
        var wrong = 0
        for (i, g) in values.enumerated() {
            if m[i] != signed.referenceCode(of: g / mScales[i / block]) { wrong += 1 }
            if v[i] != unsigned.referenceCode(of: (g * g) / vScales[i / block]) { wrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) of \(2 * values.count) codes differ from the rule's")
    }

    /// Edge blocks round-trip as the rule says: all zeros, one huge element, denormals; a tensor a quantized
    /// storage cannot take (a partial last block, or too small) stays float32.
    @Test(arguments: [StateStorage.int8, .int4])
    func edgeBlocksRoundTrip(_ storage: StateStorage) throws {
        let block = try #require(storage.blockSize)
        let count = 32 * block
        var values = [Float](repeating: 0, count: count)            // block 0: all zeros
        values[block] = 1e30                                          // block 1: one huge element, the rest small
        for i in (block + 1)..<(2 * block) { values[i] = Float(i % 7) * 1e-3 }
        for i in (2 * block)..<(3 * block) { values[i] = Float(i % 5 + 1) * 1e-40 }   // block 2: denormals
        for i in (3 * block)..<count { values[i] = sin(Float(i)) }
        for declaration in AdamRule.buffers.prefix(2) {
            let signed = declaration.isSigned
            let input = signed ? values : values.map(abs)
            let buffer = StateBuffer.encoding(FloatBuffer(input), as: storage, buffer: declaration)
            #expect(buffer.storage == storage && buffer.scales?.count == count / block)
            let map = try #require(buffer.map)
            let decoded = buffer.values.array
            let scales = try #require(buffer.scales).array
            let zeros = decoded[0..<block].allSatisfy { abs($0) <= 1e-12 }
            #expect(scales[0] == 1e-12 && zeros, "all zeros decode to the map's nearest value times 1e-12")
            #expect(scales[1] == 1e30 && decoded[block] == 1e30, "the huge element is the scale, exactly")
            #expect(scales[2] == 1e-12, "denormals: the scale is the 1e-12 floor")
            for i in 0..<count {
                let y = input[i] / scales[i / block]
                #expect(decoded[i] == map.values[map.referenceCode(of: y)] * scales[i / block], "\(declaration.name) element \(i)")
            }
        }
        for odd in [count + 1, 1000, StateStorage.minimumQuantizedCount - block] {
            #expect(storage.storage(forCount: odd) == .float32, "\(odd) elements stay float32")
            #expect(StateBuffer.encoding(FloatBuffer(count: odd), as: storage, buffer: .signed(.expAvg)).storage == .float32)
        }
    }

    /// A NaN in a block makes its scale NaN and the whole block NaN (torch's amax propagates it), an infinity its
    /// scale infinite; other blocks are untouched. The non-finite-gradient policy keeps such values out of the
    /// state when it skips (`adamw train`'s default).
    @Test(arguments: [StateStorage.int8, .int4])
    func aNonFiniteValuePoisonsOnlyItsBlock(_ storage: StateStorage) throws {
        let block = try #require(storage.blockSize)
        var values = (0..<(32 * block)).map { Float($0 % 11) * 0.1 }
        values[3] = .nan
        values[block + 5] = .infinity
        let decoded = StateBuffer.encoding(FloatBuffer(values), as: storage, buffer: .nonNegative(.expAvgSq)).values.array
        let nanBlock = decoded[0..<block].allSatisfy { $0.isNaN }
        let infinityBlock = decoded[block..<(2 * block)].contains { !$0.isFinite }
        let others = decoded[(2 * block)...].allSatisfy { $0.isFinite }
        #expect(nanBlock, "the NaN's block")
        #expect(infinityBlock, "the infinity's block")
        #expect(others, "the other blocks")

        let parameter = try Parameter(name: "w", shape: [32 * block], values: [Float](repeating: 1, count: 32 * block))
        let poisonedGradient = (0..<(32 * block)).map { $0 == 7 ? Float.nan : Float($0 % 3) - 1 }
        let optimizer = try AdamW([parameter], states: storage)
        optimizer.nonFiniteGradients = .skip
        parameter.grad = FloatBuffer((0..<(32 * block)).map { Float($0 % 3) - 1 })
        try optimizer.step()
        let before = optimizer.stateDict(), values1 = parameter.values
        parameter.grad = FloatBuffer(poisonedGradient)
        try optimizer.step()
        let after = optimizer.stateDict()
        #expect(optimizer.skippedSteps == 1 && after.tensors == before.tensors && parameter.values == values1)
    }

    enum QuantizedVariant: String, CaseIterable, Sendable { case adamwAmsgrad, adamL2, adamwMaximize }

    /// The fused 8-bit and 4-bit kernel against a scalar reference written here, bit for bit, on the paths the
    /// torchao cases do not take (amsgrad's third buffer, Adam's coupled L2, maximize): each step starts from the
    /// optimizer's own stored state, decoded element by element (map value times block scale), takes torchao's
    /// arithmetic in scalar float32, and quantizes by the rule (``QuantizationMap/referenceCode(of:)`` of x / scale).
    @Test(arguments: [StateStorage.int8, .int4], QuantizedVariant.allCases)
    func theQuantizedKernelMatchesAScalarReference(_ storage: StateStorage, _ variant: QuantizedVariant) throws {
        // Every path gives the same bits (the kernel's one fused operation, a quotient's correction, is exact).
        for path in CPUPath.supported {
            try CPUPath.$forced.withValue(path) { try Self.quantizedKernelMatchesAScalarReference(storage, variant, path) }
        }
    }

    static func quantizedKernelMatchesAScalarReference(
        _ storage: StateStorage, _ variant: QuantizedVariant, _ path: CPUPath
    ) throws {
        let signed = try #require(storage.signedMap), unsigned = try #require(storage.unsignedMap)
        let block = signed.blockSize, count = 32 * block
        let lr = 1e-2, weightDecay = 0.05, amsgrad = variant == .adamwAmsgrad, maximize = variant == .adamwMaximize
        let parameter = try Parameter(name: "w", shape: [count], values: (0..<count).map { Float(cos(Double($0))) })
        let optimizer: any Optimizer = variant == .adamL2
            ? try Adam([parameter], lr: lr, weightDecay: weightDecay, states: storage)
            : try AdamW([parameter], lr: lr, weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize, states: storage)
        func gradient(_ step: Int) -> [Float] {
            (0..<count).map { Float(sin(Double($0 * (step + 2)) * 0.37)) * (1 + Float($0 % block) * 0.01) }
        }
        func decoded(_ state: StateDict, _ name: String, _ map: QuantizationMap) throws -> [Float] {
            let codes = codes(try #require(state.tensors["state.w.\(name)"]), count: count, storage: storage)
            let scales = try #require(state.tensors["state.w.\(name).scales"]).values.array
            return (0..<count).map { map.values[codes[$0]] * scales[$0 / block] }
        }
        func lerp(_ start: Float, _ end: Float, _ weight: Float) -> Float {
            weight < 0.5 ? start + weight * (end - start) : end - (end - start) * (1 - weight)
        }
        parameter.grad = FloatBuffer(gradient(0))
        try optimizer.step()
        for step in 2...4 {
            let before = try optimizer.stateDict()
            var m = try decoded(before, "exp_avg", signed), v = try decoded(before, "exp_avg_sq", unsigned)
            var maximum = amsgrad ? try decoded(before, "max_exp_avg_sq", unsigned) : []
            var theta = parameter.values.array
            let g0 = gradient(step)
            let k = AdamStep(lr: lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: step,
                             decoupledDecay: variant == .adamL2 ? nil : 1 - lr * weightDecay,
                             l2: variant == .adamL2 ? weightDecay : 0, amsgrad: amsgrad, maximize: maximize)
            let stepSize = k.blockLR / k.blockBiasCorrection1, inverseSqrt = 1 / k.blockBiasCorrection2Sqrt
            for i in 0..<count {
                var g = maximize ? -g0[i] : g0[i]
                let decayed = k.blockDecay != 0 ? theta[i] - k.blockDecay * theta[i] : theta[i]
                if k.l2 != 0 { g = g + k.l2 * decayed }
                m[i] = lerp(m[i], g, k.beta1Weight)
                v[i] = lerp(v[i], g * g, k.oneMinusBeta2)
                var second = v[i]
                if amsgrad { second = v[i].isNaN || maximum[i] < v[i] ? v[i] : maximum[i]; maximum[i] = second }
                theta[i] = decayed - stepSize * m[i] / (second.squareRoot() * inverseSqrt + k.eps)
            }
            parameter.grad = FloatBuffer(g0)
            try optimizer.step()
            let after = try optimizer.stateDict()
            #expect(parameter.values.array == theta, "\(path) step \(step): θ")
            var buffers = [("exp_avg", m, signed), ("exp_avg_sq", v, unsigned)]
            if amsgrad { buffers.append(("max_exp_avg_sq", maximum, unsigned)) }
            for (name, x, map) in buffers {
                let scales = (0..<(count / block)).map { b in max(x[(b * block)..<((b + 1) * block)].map(abs).max() ?? 0, 1e-12) }
                let codes = (0..<count).map { map.referenceCode(of: x[$0] / scales[$0 / block]) }
                #expect(try #require(after.tensors["state.w.\(name).scales"]).values.array == scales, "\(path) step \(step): \(name) scales")
                #expect(Self.codes(try #require(after.tensors["state.w.\(name)"]), count: count, storage: storage) == codes,
                        "\(path) step \(step): \(name) codes")
            }
        }
    }

    // MARK: - bfloat16

    /// The bfloat16 step against a scalar reference, bit for bit: PyTorch's AdamW arithmetic (as the float32
    /// kernel's), with m and v rounded to nearest even when stored and the step taken with the stored values.
    @Test(arguments: [false, true])
    func bfloat16MatchesItsScalarReference(_ amsgrad: Bool) throws {
        let count = 5000 + 7  // a tail that is not a whole vector
        var random = TestRandom(seed: 11)
        let start = random.floats(count)
        let parameter = try Parameter(name: "w", shape: [count], values: start)
        let optimizer = try AdamW([parameter], lr: 1e-2, weightDecay: 0.1, amsgrad: amsgrad, states: .bfloat16)
        var theta = start, m = [Float](repeating: 0, count: count), v = m, maximum = m
        for step in 1...4 {
            let grad = random.floats(count)
            parameter.grad = FloatBuffer(grad)
            try optimizer.step()
            let k = AdamStep(lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: step, decoupledDecay: 1 - 1e-2 * 0.1,
                             l2: 0, amsgrad: amsgrad, maximize: false)
            for i in 0..<count {
                let g = grad[i]
                theta[i] *= k.decayFactor
                let delta = g - m[i]
                m[i] = Self.bf16(m[i].addingProduct(k.beta1Weight, delta))
                v[i] = Self.bf16((v[i] * k.beta2).addingProduct(g * k.oneMinusBeta2, g))
                var second = v[i]
                if amsgrad {
                    maximum[i] = Self.bf16(max(maximum[i], v[i]))
                    second = maximum[i]
                }
                let denominator = k.eps.addingProduct(second.squareRoot(), k.inverseBiasCorrection2Sqrt)
                theta[i] = theta[i].addingProduct(-k.stepSize, m[i] / denominator)
            }
            #expect(parameter.values.array == theta, "step \(step): θ")
            let state = try #require(optimizer.state(for: parameter))
            #expect(state[.expAvg]?.array == m && state[.expAvgSq]?.array == v, "step \(step): m and v")
        }
    }

    static func bf16(_ x: Float) -> Float { BFloat16.value(BFloat16.bits(x)) }

    @Test func bfloat16RoundsToNearestEvenAndKeepsNaN() {
        #expect(BFloat16.bits(1) == 0x3F80)
        #expect(BFloat16.bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80, "a tie goes to even (down)")
        #expect(BFloat16.bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82, "a tie goes to even (up)")
        #expect(BFloat16.bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(BFloat16.value(BFloat16.bits(.nan)).isNaN && BFloat16.value(BFloat16.bits(.infinity)) == .infinity)
        #expect(BFloat16.value(BFloat16.bits(Float(bitPattern: 0x7F80_0001))).isNaN, "a NaN with a low payload stays NaN")
        #expect(BFloat16.value(BFloat16.bits(Float.greatestFiniteMagnitude)) == .infinity)
    }

    // MARK: - Checkpoints, threads

    /// Within one storage a resumed optimizer takes the same steps bit for bit; the state dict holds the state as
    /// stored (BF16 values, U8 codes and F32 scales; the file format is checked in CheckpointsTests).
    @Test(arguments: [StateStorage.bfloat16, .int8, .int4])
    func aCheckpointResumesBitExactly(_ storage: StateStorage) throws {
        func run(steps: Range<Int>, from state: StateDict?, values: [[Float]]) throws -> ([[Float]], StateDict) {
            let params = try Self.model(values)
            let optimizer = try AdamW(params, lr: 1e-2, amsgrad: true, states: storage)
            if let state { try optimizer.load(stateDict: state) }
            for step in steps {
                for (i, parameter) in params.enumerated() {
                    parameter.grad = FloatBuffer((0..<parameter.count).map { Float(sin(Double($0 * (i + 3) + step))) })
                }
                try optimizer.step()
            }
            return (params.map(\.values.array), optimizer.stateDict())
        }
        let start = try Self.model().map(\.values.array)
        let (straight, straightState) = try run(steps: 0..<6, from: nil, values: start)
        let (half, halfState) = try run(steps: 0..<3, from: nil, values: start)
        let (resumed, resumedState) = try run(steps: 3..<6, from: halfState, values: half)
        #expect(resumed == straight && resumedState == straightState)
        let stored = try #require(straightState.tensors["state.big.exp_avg"])
        #expect(stored.elementType == (storage == .bfloat16 ? .bfloat16 : .uint8))
        #expect(straightState.metadata["state.big.storage"] == storage.rawValue)
        #expect(straightState.tensors["state.small.exp_avg"]?.elementType == (storage == .bfloat16 ? .bfloat16 : .float32),
                "a tensor too small to quantize keeps float32")
    }

    /// A state loads into an optimizer of another storage, converted: float32 → 8-bit → bfloat16 → float32, each
    /// within the precision of the storage it passed through.
    @Test func aStateConvertsBetweenStorages() throws {
        let params = try Self.model()
        let fp32 = try AdamW(params, lr: 1e-2)
        for parameter in params { parameter.grad = FloatBuffer((0..<parameter.count).map { Float(sin(Double($0))) }) }
        try fp32.step()
        let exact = try #require(fp32.state(for: params[0])?[.expAvgSq]).array
        var state = fp32.stateDict()
        for storage in [StateStorage.int8, .int4, .bfloat16, .float32] {
            let next = try AdamW(try Self.model(), lr: 1e-2, states: storage)
            try next.load(stateDict: state)
            state = next.stateDict()
            let converted = try #require(next.state(for: next.parameters[0]))
            #expect(converted.storage == storage)
            let values = try #require(converted[.expAvgSq]).array
            let largest = exact.map(abs).max() ?? 1
            let worst = zip(values, exact).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= largest * 0.1, "\(storage): off by \(worst) of \(largest)")
            for parameter in next.parameters { parameter.grad = FloatBuffer(count: parameter.count) }
            try next.step()
        }
    }

    /// Every storage gives the same bits on one and two threads, a tensor split between the threads' chunks
    /// included.
    @Test(arguments: [StateStorage.bfloat16, .int8, .int4])
    func oneAndTwoThreadsGiveTheSameBits(_ storage: StateStorage) throws {
        func run(threads: Int) throws -> ([[Float]], StateDict) {
            let params = try Self.model()
            let optimizer = try AdamW(params, lr: 1e-2, weightDecay: 0.1, states: storage)
            let pool = try ThreadPool(threadCount: threads)
            try ThreadPool.$current.withValue(pool) {
                for step in 0..<3 {
                    for parameter in params {
                        parameter.grad = FloatBuffer((0..<parameter.count).map { Float(cos(Double($0 + step))) })
                    }
                    try optimizer.step()
                }
            }
            return (params.map(\.values.array), optimizer.stateDict())
        }
        let one = try run(threads: 1), two = try run(threads: 2)
        #expect(one.0 == two.0 && one.1 == two.1)
    }

    /// A big tensor (quantized, and split between two threads' chunks) and a small one (float32 in a quantized
    /// storage).
    static func model(_ values: [[Float]]? = nil) throws -> [Parameter] {
        let big = 96 * 1024, small = 300
        return [
            try Parameter(name: "big", shape: [96, 1024], values: values?[0] ?? (0..<big).map { Float($0 % 97) * 0.01 }),
            try Parameter(name: "small", shape: [small], values: values?[1] ?? (0..<small).map { Float($0) * 0.001 }),
        ]
    }
}
