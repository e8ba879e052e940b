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
}

/// How a state buffer's elements are stored, by their safetensors dtype name. Every buffer is float32 today;
/// lower precisions are new cases here, chosen per buffer, with no change to any optimizer's math.
public enum StateElementType: String, Sendable, CaseIterable, Codable {
    case float32 = "F32"
}

/// One state buffer of one parameter: its element type and its elements.
public struct StateBuffer: Sendable, Equatable {
    public let elementType: StateElementType
    public internal(set) var values: FloatBuffer

    init(float32 values: FloatBuffer) {
        elementType = .float32
        self.values = values
    }

    /// This buffer with its elements in storage of their own.
    func copy() -> StateBuffer {
        StateBuffer(float32: values.withUnsafeBufferPointer { FloatBuffer(copying: $0) })
    }
}
