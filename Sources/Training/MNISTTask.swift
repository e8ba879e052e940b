import Autograd
import Datasets
import DataParallel
import NN

/// The seeds' MNIST classifier as an ``EpochTask``: `Linear(784, 10)` or an MLP with ReLU, cross-entropy, a
/// seeded shuffling loader over the training images (or their first ``TrainingOptions/trainSamples``), and
/// accuracy on the test set — or on the last ``TrainingOptions/validationSamples`` training images when they are
/// held out, so that model selection never looks at the test set.
public final class MNISTTask: EpochTask {
    let loader: DataLoader<Subset<MNIST>>
    let evaluationSet: Subset<MNIST>
    let hidden: [Int]

    /// - Throws: ``Datasets/DatasetError`` naming a subset or validation split that does not fit the data.
    public init(options: TrainingOptions, train: MNIST, test: MNIST) throws {
        let held = options.validationSamples ?? 0
        let available = train.count - held
        guard held >= 0, available >= 1 else {
            throw DatasetError.invalidArgument(
                name: "--validation-samples (at most \(train.count - 1) of the training set's \(train.count))", value: held)
        }
        let used = options.trainSamples ?? available
        guard (1...available).contains(used) else {
            let split = held > 0 ? " after the validation split of \(held)" : ""
            throw DatasetError.invalidArgument(
                name: "--train-samples (the training set has \(available)\(split))", value: used)
        }
        let trainSet = try Subset(train, indices: Array(0..<used))
        evaluationSet = held > 0 ? try Subset(train, indices: Array(available..<train.count)) : Subset(all: test)
        guard evaluationSet.count > 0 else {
            throw DatasetError.invalidArgument(name: "test images (the test file holds none to evaluate on)", value: 0)
        }
        loader = try DataLoader(trainSet, batchSize: options.batchSize, shuffle: true, seed: options.seed)
        hidden = options.hidden
    }

    /// The training and evaluation images' counts, and sums of the training pixels and labels, plain and
    /// weighted by position (wrapping), so that another file or another order gives other numbers.
    public func dataFingerprint() -> [Int64] {
        let dataset = loader.dataset
        var sum: Int64 = 0, weighted: Int64 = 0
        for index in 0..<dataset.count {
            let label = Int64(dataset.label(at: index))
            sum &+= label
            weighted &+= label &* Int64(index + 1)
        }
        let images = dataset.base.images
        for (position, pixel) in images.enumerated() {
            sum &+= Int64(pixel)
            weighted &+= Int64(pixel) &* Int64(position & 0xFFFF + 1)
        }
        return [Int64(dataset.count), Int64(evaluationSet.count), sum, weighted]
    }

    public func makeModel() -> Sequential {
        let widths = [MNIST.pixels] + hidden
        return Sequential {
            Flatten()
            for (from, to) in zip(widths, widths.dropFirst()) {
                [Linear(from, to), ReLU()] as [any Module]
            }
            Linear(widths.last ?? MNIST.pixels, MNIST.classes)
        }
    }

    public var batchesPerEpoch: Int { loader.batchCount }

    public var dataEpoch: Int {
        get { loader.epoch }
        set { loader.epoch = newValue }
    }

    public func nextEpoch() -> AnyIterator<(data: Tensor, target: [Int])> {
        var iterator = loader.makeIterator()
        return AnyIterator { iterator.next() }
    }

    public func sampleCount(of batch: (data: Tensor, target: [Int])) -> Int { batch.target.count }

    public func loss(of model: Sequential, on batch: (data: Tensor, target: [Int])) throws -> Tensor {
        try crossEntropy(model(batch.data), batch.target)
    }

    public func evaluate(_ model: Sequential) throws -> (loss: Double, accuracy: Double) {
        let batchSize = 1000
        var lossSum = 0.0, correct = 0
        var start = 0
        let order = Array(0..<evaluationSet.count)
        while start < evaluationSet.count {
            let end = min(start + batchSize, evaluationSet.count)
            let (data, target) = evaluationSet.batch(order[start..<end])
            let logits = try model(data)
            lossSum += Double(try crossEntropy(logits, target).item()) * Double(end - start)
            correct += zip(try logits.argmax(axis: 1), target).filter { $0 == $1 }.count
            start = end
        }
        return (lossSum / Double(evaluationSet.count), Double(correct) / Double(evaluationSet.count))
    }
}

/// A run of the seeds' MNIST classifier (``MNISTTask``): what `adamw train` and the experiments train.
public typealias TrainingRun = EpochRun<MNISTTask>

extension EpochRun where Task == MNISTTask {
    /// One MNIST run on `train`, evaluated on `test` (or on a validation split of `train`, as `options` say).
    public convenience init(options: TrainingOptions, train: MNIST, test: MNIST,
                            communicator: (any Communicator)? = nil) throws {
        try self.init(options: options, task: MNISTTask(options: options, train: train, test: test),
                      communicator: communicator)
    }
}
