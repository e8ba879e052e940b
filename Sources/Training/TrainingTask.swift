import Autograd
import NN

/// What a ``Trainer`` trains: a model, its loss on a micro-batch, and a fingerprint of the data that every process
/// of a data-parallel run must share. The trainer owns everything else (the optimizer's step, accumulation, the
/// dropout seeds, clipping, the exchange between processes), so a new task — a second data set, another model —
/// is one type conforming to this and a command's flags. ``MNISTTask`` and ``LanguageModelTask`` (the GPT) are the
/// two conformances.
///
/// (Named `TrainingTask`, not `Task`: a public `Task` would shadow Swift concurrency's in every file that imports
/// this module.)
public protocol TrainingTask: AnyObject {
    associatedtype Batch
    associatedtype Model: Module

    /// The model, built while the run's random generator is the global one (initialization).
    func makeModel() throws -> Model
    /// The number of samples in `batch`, by which its loss is weighted in an accumulated step.
    func sampleCount(of batch: Batch) -> Int
    /// The mean loss of `model` on `batch`, for backpropagation.
    func loss(of model: Model, on batch: Batch) throws -> Tensor
    /// A fingerprint of the data: equal on every process of a data-parallel run that reads the same data, and
    /// compared across them before training (computed only then).
    func dataFingerprint() -> [Int64]
    /// What the data is called where processes disagree on it ("training data", "text").
    var dataName: String { get }
    /// A fingerprint as that message shows it.
    func describe(fingerprint: [Int64]) -> String
}

extension TrainingTask {
    public var dataName: String { "training data" }

    public func describe(fingerprint: [Int64]) -> String {
        "fingerprint " + fingerprint.map(String.init).joined(separator: ",")
    }
}

/// A task trained in epochs over a finite data set, evaluated after each (``TrainingRun``'s).
public protocol EpochTask: TrainingTask {
    /// Micro-batches in one epoch.
    var batchesPerEpoch: Int { get }
    /// Epochs of the data order begun so far; a checkpoint saves it and a resumed run sets it back.
    var dataEpoch: Int { get set }
    /// The micro-batches of the next epoch, in order.
    func nextEpoch() -> AnyIterator<Batch>
    /// Mean loss and accuracy of `model` on the evaluation split (no gradients, evaluation mode set by the run).
    func evaluate(_ model: Model) throws -> (loss: Double, accuracy: Double)
}
