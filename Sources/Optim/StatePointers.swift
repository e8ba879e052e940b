/// The state buffers of one parameter, as pointers for a kernel, in its rule's order: each buffer's memory (its
/// values, or in another ``storage`` its bfloat16 values or codes) and, when quantized, its block scales.
public struct StatePointers {
    private var pointers: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
                           UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) = (nil, nil, nil, nil)
    private var scales: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
                         UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) = (nil, nil, nil, nil)
    /// How the buffers are stored (all of one parameter's alike).
    public var storage: StateStorage = .float32
    /// The most buffers a rule may declare.
    public static let capacity = 4

    init() {}

    /// The block scales of buffer `index` (quantized storage), or nil.
    public func scales(_ index: Int) -> UnsafeMutablePointer<Float>? {
        switch index {
        case 0: scales.0
        case 1: scales.1
        case 2: scales.2
        case 3: scales.3
        default: nil
        }
    }

    mutating func setScales(_ pointer: UnsafeMutablePointer<Float>?, at index: Int) {
        switch index {
        case 0: scales.0 = pointer
        case 1: scales.1 = pointer
        case 2: scales.2 = pointer
        case 3: scales.3 = pointer
        default: break
        }
    }

    public subscript(index: Int) -> UnsafeMutablePointer<Float>? {
        get {
            switch index {
            case 0: pointers.0
            case 1: pointers.1
            case 2: pointers.2
            case 3: pointers.3
            default: nil
            }
        }
        set {
            switch index {
            case 0: pointers.0 = newValue
            case 1: pointers.1 = newValue
            case 2: pointers.2 = newValue
            case 3: pointers.3 = newValue
            default: break
            }
        }
    }
}
