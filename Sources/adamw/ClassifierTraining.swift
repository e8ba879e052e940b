import Benchmarks
import Datasets
import NN

/// The seeds' training loop for a classifier, exactly as a user writes it, with timing and a progress bar:
/// `optimizer.zeroGrad(); let loss = try crossEntropy(model(data), target); try loss.backward(); try optimizer.step()`.
final class ClassifierTraining {
    struct EpochResult {
        let epoch: Int
        /// The mean training loss over the epoch's batches.
        let trainLoss: Double
        let testLoss: Double
        let testAccuracy: Double
        let seconds: Double
    }

    let model: any Module
    let optimizer: Optimizer
    let loader: DataLoader<MNIST>
    let test: MNIST
    let showProgress: Bool
    private(set) var trainSeconds = 0.0
    private(set) var evalSeconds = 0.0

    init(model: any Module, optimizer: Optimizer, train: MNIST, test: MNIST, batchSize: Int, seed: UInt64,
         showProgress: Bool) throws {
        self.model = model
        self.optimizer = optimizer
        self.loader = try DataLoader(train, batchSize: batchSize, shuffle: true, seed: seed)
        self.test = test
        self.showProgress = showProgress
    }

    func runEpoch(_ epoch: Int, of epochs: Int) throws -> EpochResult {
        let start = monotonicSeconds()
        model.train()
        var progress = ProgressBar(total: loader.batchCount, label: "Epoch \(epoch)/\(epochs)", enabled: showProgress)
        var lossSum = 0.0, batches = 0
        for (data, target) in loader {
            optimizer.zeroGrad()
            let loss = try crossEntropy(model(data), target)
            try loss.backward()
            try optimizer.step()
            lossSum += Double(try loss.item())
            batches += 1
            progress.update(done: batches, loss: lossSum / Double(batches))
        }
        progress.finish()
        let trained = monotonicSeconds()
        trainSeconds += trained - start
        let (testLoss, accuracy) = try evaluate()
        evalSeconds += monotonicSeconds() - trained
        return EpochResult(epoch: epoch, trainLoss: lossSum / Double(max(batches, 1)), testLoss: testLoss,
                           testAccuracy: accuracy, seconds: monotonicSeconds() - start)
    }

    /// Mean test loss and accuracy: evaluation mode, no gradients, argmax of the logits.
    func evaluate(batchSize: Int = 1000) throws -> (loss: Double, accuracy: Double) {
        model.eval()
        defer { model.train() }
        return try withNoGrad {
            var lossSum = 0.0, correct = 0
            var start = 0
            while start < test.count {
                let end = min(start + batchSize, test.count)
                let (data, target) = test.batch(Array(start..<end))
                let logits = try model(data)
                lossSum += Double(try crossEntropy(logits, target).item()) * Double(end - start)
                correct += zip(try logits.argmax(axis: 1), target).filter { $0 == $1 }.count
                start = end
            }
            return (lossSum / Double(test.count), Double(correct) / Double(test.count))
        }
    }
}
