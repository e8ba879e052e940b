#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Optim

/// What an AdamW (or Adam, or Schedule-Free AdamW) step costs in memory for a list of parameter tensors, per state
/// storage: the weights and gradients (float32), each state buffer's values or codes, and their block scales,
/// tensor by tensor (a tensor that a quantized storage does not take keeps float32 states). ``measure(_:tensors:)``
/// checks the accounting against the process's resident memory around a real first step.
public struct MemoryAccount: Sendable {
    /// The optimizers counted: their state buffers.
    public enum Optimizer: String, Sendable, CaseIterable {
        /// AdamW (and Adam): m and v in the storage.
        case adamw
        /// Schedule-Free AdamW: z (a copy of the weights, float32) and v in the storage.
        case adamwScheduleFree = "adamw-schedulefree"
    }

    public let storage: StateStorage
    public let optimizer: Optimizer
    /// Whether every tensor keeps a float32 reference point of decay (`decay_to` initial, one decayed group).
    public let decayReference: Bool
    /// Each state buffer's name and bytes (values or codes) over every tensor, in the optimizer's order.
    public let buffers: [(name: String, bytes: Int)]
    public let parameters: Int
    public let weightBytes: Int
    public let gradientBytes: Int
    /// Values or codes of every state buffer, over every tensor.
    public let stateBytes: Int
    /// Their block scales.
    public let scaleBytes: Int
    /// Tensors kept float32 because the storage does not take them.
    public let float32Tensors: Int

    public var totalBytes: Int { weightBytes + gradientBytes + stateBytes + scaleBytes }
    public var bytesPerParameter: Double { Double(totalBytes) / Double(max(parameters, 1)) }
    /// The optimizer's state alone, per parameter (8 in float32; 12 with a decay reference).
    public var stateBytesPerParameter: Double { Double(stateBytes + scaleBytes) / Double(max(parameters, 1)) }

    /// The account for `tensors` with `storage` states; `amsgrad` adds v̂max, `decayReference` a float32 reference.
    public init(_ storage: StateStorage, tensors: [BenchmarkModel.Tensor], amsgrad: Bool = false,
                optimizer: Optimizer = .adamw, decayReference: Bool = false) {
        self.storage = storage
        self.optimizer = optimizer
        self.decayReference = decayReference
        let counts = tensors.map { $0.shape.reduce(1, *) }
        parameters = counts.reduce(0, +)
        weightBytes = 4 * parameters
        gradientBytes = 4 * parameters
        // Each buffer, and whether it is stored as the storage says or always in float32.
        let declared: [(String, Bool)] = switch optimizer {
        case .adamw: [("m", true), ("v", true)] + (amsgrad ? [("v̂max", true)] : []) + (decayReference ? [("ref", false)] : [])
        case .adamwScheduleFree: [("z", false), ("v", true)]
        }
        var buffers: [(name: String, bytes: Int)] = [], scales = 0, kept = 0
        for (name, follows) in declared {
            var bytes = 0
            for count in counts {
                let actual = follows ? storage.storage(forCount: count) : .float32
                bytes += 4 * actual.codeWords(forCount: count)
                scales += 4 * actual.scaleCount(forCount: count)
            }
            buffers.append((name, bytes))
        }
        for count in counts where storage.storage(forCount: count) != storage { kept += 1 }
        self.buffers = buffers
        stateBytes = buffers.reduce(0) { $0 + $1.bytes }
        scaleBytes = scales
        float32Tensors = kept
    }

    /// The seeds' count: 16 bytes a parameter (4 weight, 4 gradient, 8 for m and v in float32).
    public static let seedsBytesPerParameter = 16.0

    /// The process's resident memory and its peak, in bytes, from /proc/self/status (nil where there is none).
    public static func resident() -> (current: Int, peak: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }.map { $0 * 1024 }
        }
        guard let current = field("VmRSS"), let peak = field("VmHWM") else { return nil }
        return (current, peak)
    }

    /// The resident memory a real optimizer's first step adds (its state, created then) for `tensors` with
    /// `storage` states: parameters and gradients are made and touched first, so the difference is the state.
    /// Nil where /proc is not available.
    public static func measure(
        _ storage: StateStorage, tensors: [BenchmarkModel.Tensor], optimizer kind: Optimizer = .adamw,
        decayReference: Bool = false
    ) throws -> Int? {
        let params = try OptimizerBenchmark().makeParameters(tensors)
        for parameter in params {
            parameter.grad = FloatBuffer(count: parameter.count, repeating: 1e-3)
        }
        let optimizer: any Optim.Optimizer
        switch kind {
        case .adamw:
            optimizer = try AdamW(params, lr: 1e-3, decayTo: decayReference ? .initial : .zero, states: storage)
        case .adamwScheduleFree:
            optimizer = try AdamWScheduleFree(params, states: storage)
            try optimizer.train()
        }
        guard let before = resident() else { return nil }
        try optimizer.step()
        guard let after = resident() else { return nil }
        return after.current - before.current
    }
}
