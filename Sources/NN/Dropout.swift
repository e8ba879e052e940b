/// In training, zeroes each element with probability `p` and scales the rest by 1/(1 − p); in evaluation, the
/// identity. Masks come from the global generator (``Autograd/manualSeed(_:)``).
public final class Dropout: Module {
    public let p: Double
    public private(set) var isTraining = true

    /// A dropout layer; `p` outside [0, 1] makes `forward` throw.
    public init(p: Double = 0.5) { self.p = p }

    public func setTraining(_ training: Bool) { isTraining = training }

    public func forward(_ input: Tensor) throws(TensorError) -> Tensor {
        guard p >= 0, p <= 1 else { throw TensorError.invalidArgument(operation: "Dropout", name: "p", value: p) }
        return isTraining ? try input.dropout(p: p) : input
    }
}
