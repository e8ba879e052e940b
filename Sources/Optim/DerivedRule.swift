/// A rule that is another rule with other defaults or another name (AdamW is Adam with decoupled decay and λ 0.01):
/// it declares its ``Base`` and its own ``UpdateRule/name`` and ``UpdateRule/defaults``, and every other member
/// forwards to the base, so a change to the base's math reaches it without a line of its own.
public protocol DerivedRule: UpdateRule
where Options == Base.Options, Kernel == Base.Kernel, Counters == Base.Counters {
    associatedtype Base: UpdateRule
}

extension DerivedRule {
    public static var buffers: [StateBufferDeclaration] { Base.buffers }
    public static var countsSteps: Bool { Base.countsSteps }

    public static func uses(buffer index: Int, options: Options) -> Bool { Base.uses(buffer: index, options: options) }

    public static func initialValue(ofBuffer index: Int, options: Options) -> Float {
        Base.initialValue(ofBuffer: index, options: options)
    }

    public static func requiredBuffers(step: Int, options: Options) -> [Int] {
        Base.requiredBuffers(step: step, options: options)
    }

    public static func storage(_ options: Options) -> StateStorage { Base.storage(options) }

    public static var hasModes: Bool { Base.hasModes }

    public static func advance(_ counters: inout Counters, options: Options) {
        Base.advance(&counters, options: options)
    }

    public static func kernel(
        _ options: Options, counters: Counters, initialLR: Double, step: Int, freshState: Bool
    ) -> Kernel {
        Base.kernel(options, counters: counters, initialLR: initialLR, step: step, freshState: freshState)
    }

    public static func changeMode(
        to mode: OptimizerMode, options: Options, param: UnsafeMutablePointer<Float>, state: StatePointers, count: Int
    ) {
        Base.changeMode(to: mode, options: options, param: param, state: state, count: count)
    }

    public static func streams(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, state: StatePointers
    ) -> Kernel.Streams {
        Base.streams(param: param, grad: grad, state: state)
    }
}
