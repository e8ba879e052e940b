import Datasets
import NN
import Testing

/// The same seed gives the same run bit for bit whatever the thread count. (That the default job reaches
/// PyTorch's accuracy for seeds 0–4 is checked on the job itself, in ExperimentsTests.)
struct ReproducibilityTests {
    /// An MLP just big enough that its products (32×128×784) and its first layer's optimizer step (100,352
    /// parameters) are split over threads, and small enough for a debug build.
    static func train(threads: Int, steps: Int) throws -> [[Float]] {
        try ThreadPool.$current.withValue(ThreadPool(threadCount: threads)) {
            try withRandomGenerator(seed: 11) { try trainScoped(steps: steps) }
        }
    }

    static func trainScoped(steps: Int) throws -> [[Float]] {
        let model = Sequential { Flatten(); Linear(784, 128); ReLU(); Dropout(p: 0.1); Linear(128, 10) }
        let optimizer = try AdamW(model.parameters(), lr: 1e-3)
        let loader = try DataLoader(try MNIST(split: .train), batchSize: 32, shuffle: true, seed: 11)
        for (data, target) in loader.prefix(steps) {
            optimizer.zeroGrad()
            try crossEntropy(model(data), target).backward()
            try optimizer.step()
        }
        return model.parameters().map(\.values.array)
    }

    @Test func aSeededRunIsBitwiseTheSameOnOneAndTwoThreads() throws {
        let one = try Self.train(threads: 1, steps: 8), two = try Self.train(threads: 2, steps: 8)
        for (a, b) in zip(one, two) { #expect(a.map(\.bitPattern) == b.map(\.bitPattern)) }
        #expect(one != (try Self.train(threads: 1, steps: 9)), "and a different run differs")
    }
}
