import Autograd

/// A dataset of labeled samples of one shape, such as ``MNIST``.
public protocol LabeledDataset: Sendable {
    /// The number of samples.
    var count: Int { get }
    /// The shape of one sample, without the batch dimension.
    var sampleShape: [Int] { get }
    /// Writes the samples at `indices`, one after another, as Floats into `batch`.
    func fill(_ indices: ArraySlice<Int>, into batch: UnsafeMutablePointer<Float>)
    /// The class of the sample at `index`.
    func label(at index: Int) -> Int
}

extension LabeledDataset {
    /// The samples at `indices` as a tensor [n, sampleShape…] and their labels.
    public func batch(_ indices: ArraySlice<Int>) -> (data: Tensor, target: [Int]) {
        let sampleCount = sampleShape.reduce(1, *)
        let values = FloatBuffer(unsafeUninitializedCount: indices.count * sampleCount) { buffer in
            if let base = buffer.baseAddress { fill(indices, into: base) }
        }
        return (Tensor(values, checkedShape: [indices.count] + sampleShape), indices.map(label(at:)))
    }

    /// The samples at `indices` as a tensor and their labels.
    public func batch(_ indices: [Int]) -> (data: Tensor, target: [Int]) { batch(indices[...]) }
}

/// Batches of a dataset, as `torch.utils.data.DataLoader`: in order or shuffled, the last partial batch kept
/// unless `dropLast`.
///
/// Shuffling is seeded: pass number k over the loader (each `for … in loader`) uses the permutation drawn from
/// (`seed`, k), so a run is reproducible and every epoch sees a new order. A shuffling loader without a seed draws
/// one from the global generator (``Autograd/manualSeed(_:)``) when it is created; a loader that does not shuffle
/// draws nothing.
public final class DataLoader<Dataset: LabeledDataset>: Sequence {
    public let dataset: Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool
    /// How many passes have started: the next pass uses the order of this pass number. Set it to continue a
    /// run where a checkpoint left it.
    public var epoch = 0

    /// - Throws: ``DatasetError/invalidArgument(name:value:)`` when `batchSize` is below 1.
    public init(_ dataset: Dataset, batchSize: Int, shuffle: Bool = false, seed: UInt64? = nil, dropLast: Bool = false)
        throws(DatasetError)
    {
        guard batchSize >= 1 else { throw .invalidArgument(name: "batch size", value: batchSize) }
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed ?? (shuffle ? GlobalRandom.with { $0.next() } : 0)
        self.dropLast = dropLast
    }

    /// The number of batches in one pass.
    public var batchCount: Int {
        // Without `count + batchSize - 1`, which overflows for a batch size near Int.max.
        dropLast || dataset.count % batchSize == 0 ? dataset.count / batchSize : dataset.count / batchSize + 1
    }

    /// The sample order of pass `epoch` (0-based).
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<dataset.count) }
        var random = RandomGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        return random.permutation(dataset.count)
    }

    public func makeIterator() -> Iterator {
        defer { epoch += 1 }
        return Iterator(loader: self, order: order(epoch: epoch))
    }

    public struct Iterator: IteratorProtocol {
        let loader: DataLoader
        let order: [Int]
        var position = 0

        public mutating func next() -> (data: Tensor, target: [Int])? {
            // `order.count - position` first: `position + batchSize` overflows for a batch size near Int.max.
            let end = position + Swift.min(loader.batchSize, order.count - position)
            guard end > position, !(loader.dropLast && end - position < loader.batchSize) else { return nil }
            defer { position = end }
            return loader.dataset.batch(order[position..<end])
        }
    }
}
