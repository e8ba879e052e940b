import Datasets
import NN
import Testing

#if DEBUG
let optimizedBuild = false
#else
let optimizedBuild = true
#endif

/// The same seed gives the same run bit for bit whatever the thread count, and the default job reaches the
/// accuracy PyTorch reaches, for several seeds.
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

    /// PyTorch's run of the seeds' example reaches 92.39–92.55% after five epochs; ours must reach 92.3% for
    /// each of seeds 0–4. Five epochs five times takes ~2 s in release and minutes in debug, so it runs in
    /// optimized builds (CI's `swift test -c release`).
    @Test(.enabled(if: optimizedBuild), arguments: 0..<5)
    func theDefaultJobReachesPyTorchsAccuracy(seed: UInt64) throws {
        try withRandomGenerator(seed: seed) { try trainDefaultJob(seed: seed) }
    }

    func trainDefaultJob(seed: UInt64) throws {
        let model = Sequential { Flatten(); Linear(784, 10) }
        let optimizer = try AdamW(model.parameters(), lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weightDecay: 0.01)
        let (train, test) = try MNIST.load()
        let loader = try DataLoader(train, batchSize: 64, shuffle: true, seed: seed)
        for _ in 1...5 {
            for (data, target) in loader {
                optimizer.zeroGrad()
                try crossEntropy(model(data), target).backward()
                try optimizer.step()
            }
        }
        let correct = try withNoGrad {
            let (data, target) = test.batch(Array(0..<test.count))
            return zip(try model(data).argmax(axis: 1), target).filter { $0 == $1 }.count
        }
        #expect(Double(correct) / 100 >= 92.3, "seed \(seed): \(Double(correct) / 100)%")
    }
}
