/// The name of an optimizer's state buffer, as PyTorch's state dicts spell it (`exp_avg`).
public struct StateBufferName: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }

    /// Adam's first moment m.
    public static let expAvg: StateBufferName = "exp_avg"
    /// Adam's second moment v.
    public static let expAvgSq: StateBufferName = "exp_avg_sq"
    /// amsgrad's running maximum of v.
    public static let maxExpAvgSq: StateBufferName = "max_exp_avg_sq"
    /// SGD's and RMSprop's momentum buffer.
    public static let momentumBuffer: StateBufferName = "momentum_buffer"
    /// RMSprop's running mean of g².
    public static let squareAvg: StateBufferName = "square_avg"
    /// Centered RMSprop's running mean of g.
    public static let gradAvg: StateBufferName = "grad_avg"
    /// Adagrad's running sum of g².
    public static let sum: StateBufferName = "sum"
    /// Schedule-Free's z: the base sequence, a copy of the weights at the first step.
    public static let z: StateBufferName = "z"
    /// Adam's and AdamW's reference point of weight decay (`decay_to` other than zero): θ_ref in
    /// θ ← θ_ref + (θ − θ_ref)·(1 − lr·λ).
    public static let decayReference: StateBufferName = "decay_reference"
}

/// A state buffer as a rule declares it: its name, what its values can be, which decides the 8-/4-bit map that
/// stores it (torchao's signed map for values of either sign, the unsigned one for values never negative), and
/// whether it may be stored in less than float32 at all.
public struct StateBufferDeclaration: Sendable, Equatable {
    public let name: StateBufferName
    /// Whether the buffer holds values of either sign (Adam's m), or only values ≥ 0 (v, Σg²).
    public let isSigned: Bool
    /// Whether the buffer is stored as its group asks (bfloat16, 8- or 4-bit), or always in float32: a buffer
    /// that is a copy of the weights (Schedule-Free's z) would lose the weights' precision.
    public let followsStorage: Bool
    /// Whether the buffer starts as a copy of the parameter's values (a reference point of decay), taken when the
    /// buffer is created: before the parameter's first step.
    public var startsAsWeights = false

    /// A buffer whose values may have either sign.
    public static func signed(_ name: StateBufferName) -> Self { Self(name: name, isSigned: true, followsStorage: true) }
    /// A buffer whose values are never negative.
    public static func nonNegative(_ name: StateBufferName) -> Self {
        Self(name: name, isSigned: false, followsStorage: true)
    }
    /// A buffer kept in float32 whatever storage its group asks for.
    public static func float32(_ name: StateBufferName) -> Self {
        Self(name: name, isSigned: true, followsStorage: false)
    }
    /// A float32 buffer that starts as a copy of the parameter's values (see ``startsAsWeights``).
    public static func weightsCopy(_ name: StateBufferName) -> Self {
        Self(name: name, isSigned: true, followsStorage: false, startsAsWeights: true)
    }

    /// How this buffer is stored in a group whose storage is `storage`.
    public func storage(in storage: StateStorage) -> StateStorage { followsStorage ? storage : .float32 }
}
