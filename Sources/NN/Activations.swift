/// Merges all dimensions after the first (the batch) into one, as `torch.nn.Flatten`.
public final class Flatten: Module {
    public let startDim: Int, endDim: Int
    public init(startDim: Int = 1, endDim: Int = -1) { self.startDim = startDim; self.endDim = endDim }
    public func forward(_ input: Tensor) throws(TensorError) -> Tensor { try input.flattened(startDim: startDim, endDim: endDim) }
}

/// max(x, 0), element-wise.
public final class ReLU: Module {
    public init() {}
    public func forward(_ input: Tensor) throws(TensorError) -> Tensor { input.relu() }
}

/// GELU with the exact Gaussian CDF (PyTorch's default), element-wise.
public final class GELU: Module {
    /// Exact (erf) or GPT-2's tanh approximation, as PyTorch's `nn.GELU(approximate=…)`.
    public let approximate: GELUApproximation
    public init(approximate: GELUApproximation = .none) { self.approximate = approximate }
    public func forward(_ input: Tensor) throws(TensorError) -> Tensor { input.gelu(approximate: approximate) }
}

/// tanh, element-wise.
public final class Tanh: Module {
    public init() {}
    public func forward(_ input: Tensor) throws(TensorError) -> Tensor { input.tanh() }
}

/// The logistic sigmoid, element-wise.
public final class Sigmoid: Module {
    public init() {}
    public func forward(_ input: Tensor) throws(TensorError) -> Tensor { input.sigmoid() }
}
