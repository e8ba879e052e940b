import Autograd
import NN

/// What a ``TrainingRun`` trains on: a model, micro-batches in a seeded order, their loss, and an evaluation.
/// The run owns everything else (optimizer, schedule, accumulation, clipping, checkpoints), so a new task — a
/// second data set, a language model — is one type conforming to this. ``MNISTTask`` is the first.
public protocol TrainingTask: AnyObject {
    associatedtype Batch

    /// The model for `options`, built while the run's random generator is the global one (initialization).
    func makeModel(_ options: TrainingOptions) throws -> any Module
    /// Micro-batches in one epoch.
    var batchesPerEpoch: Int { get }
    /// Epochs of the data order begun so far; a checkpoint saves it and a resumed run sets it back.
    var dataEpoch: Int { get set }
    /// The micro-batches of the next epoch, in order.
    func nextEpoch() -> AnyIterator<Batch>
    /// The number of samples in `batch`, by which its loss is weighted in an accumulated step.
    func sampleCount(of batch: Batch) -> Int
    /// The mean loss of `model` on `batch`, for backpropagation.
    func loss(of model: any Module, on batch: Batch) throws -> Tensor
    /// Mean loss and accuracy of `model` on the evaluation split (no gradients, evaluation mode set by the run).
    func evaluate(_ model: any Module) throws -> (loss: Double, accuracy: Double)
    /// A fingerprint of the data: equal on every process of a data-parallel run that reads the same data, and
    /// compared across them before training (computed only then).
    func dataFingerprint() -> [Int64]
}
