import DataParallel
import Foundation
import Optim
import Testing

/// A job of one process: every exchange has no peer.
final class SoloCommunicator: Communicator {
    let rank = 0, size = 1, timeout = 60.0, bytesSent = 0
    func exchange(sending: [Outgoing], receiving: [Incoming], operation: String) throws(CommunicationError) {
        precondition(sending.isEmpty && receiving.isEmpty, "one process has no peer")
    }
    func abort(code: Int32) -> Never { fatalError("aborted with \(code)") }
    func finish() {}
}

/// `ShardedOptimizer` is an `Optimizer`: code that takes `any Optimizer` (a scheduler, a loop) drives a ZeRO-1
/// optimizer as it drives any other, and on one process it is the optimizer it wraps, step for step.
struct ShardedOptimizerTests {
    static func parameters() throws -> [Parameter] {
        [try Parameter(name: "w", shape: [8, 5], values: (0..<40).map { Float($0) / 10 }),
         try Parameter(name: "b", shape: [5], values: (0..<5).map { Float($0) - 2 })]
    }

    static func gradients(_ parameters: [Parameter], step: Int) {
        for parameter in parameters {
            parameter.grad = FloatBuffer((0..<parameter.count).map { sin(Float($0 + 7 * step)) })
        }
    }

    @Test func aShardedOptimizerIsAnOptimizerThatStepsAsTheOneItWraps() throws {
        let plain = try Self.parameters(), sharded = try Self.parameters()
        let reference = try AdamW(plain, lr: 0.01, weightDecay: 0.1)
        let zero: any Optimizer = try ShardedOptimizer(
            parameters: sharded, optimizer: try AdamW(sharded, lr: 0.01, weightDecay: 0.1),
            communicator: SoloCommunicator())
        #expect(zero.name == "AdamW" && zero.parameters.map(\.name) == ["w", "b"])
        zero.nonFiniteGradients = .skip
        reference.nonFiniteGradients = .skip
        for step in 0..<3 {
            // A schedule moves the rate through the protocol, as a scheduler does.
            zero.groupSchedules = zero.groupSchedules.map { var s = $0; s.lr = 0.01 / Double(step + 1); return s }
            reference.groupSchedules = reference.groupSchedules.map { var s = $0; s.lr = 0.01 / Double(step + 1); return s }
            Self.gradients(plain, step: step)
            Self.gradients(sharded, step: step)
            try reference.step()
            try zero.step()
            zero.zeroGrad(setToNone: true)
            #expect(sharded.allSatisfy { $0.grad == nil })
        }
        #expect(zip(plain, sharded).allSatisfy { $0.values == $1.values }, "the same bits as the optimizer alone")
        #expect(try zero.stateDict() == reference.stateDict())
        #expect(zero.state(for: sharded[0])?.step == 3 && zero.skippedSteps == 0)
        sharded[1].grad = FloatBuffer(count: 5, repeating: .nan)
        try zero.step()
        #expect(zero.skippedSteps == 1, "the wrapped optimizer's policy and count")
    }
}

/// Schedule-Free's modes through a ZeRO-1 optimizer: the owner moves its parameters and everyone gathers them.
struct ShardedScheduleFreeTests {
    @Test func aShardedScheduleFreeOptimizerStepsAndSwitchesModesAsTheOneItWraps() throws {
        let plain = try ShardedOptimizerTests.parameters(), sharded = try ShardedOptimizerTests.parameters()
        let reference = try AdamWScheduleFree(plain, lr: 0.01, weightDecay: 0.1, warmupSteps: 2)
        let zero: any Optimizer = try ShardedOptimizer(
            parameters: sharded, optimizer: try AdamWScheduleFree(sharded, lr: 0.01, weightDecay: 0.1, warmupSteps: 2),
            communicator: SoloCommunicator())
        reference.train()
        try zero.train()
        #expect(zero.mode == .train)
        for step in 0..<3 {
            ShardedOptimizerTests.gradients(plain, step: step)
            ShardedOptimizerTests.gradients(sharded, step: step)
            try reference.step()
            try zero.step()
        }
        reference.eval()
        try zero.eval()
        #expect(zero.mode == .eval)
        #expect(zip(plain, sharded).allSatisfy { $0.values == $1.values }, "the same eval values")
        #expect(try zero.stateDict() == reference.stateDict())
    }
}
