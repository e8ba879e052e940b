import Kernels

/// A kernel with an optimizer step's memory traffic and almost no arithmetic: its speed is the ceiling a fused
/// optimizer kernel can reach on this machine. It mirrors `traffic` in `shared/bench/traffic_bound.c`.
///
/// Adam and AdamW read θ, g, m, v and write θ, m, v (28 bytes a parameter); SGD with momentum reads θ, g, b and
/// writes θ, b (20 bytes). The kernel does the same loads and stores with a multiply and an add each, over the same
/// buffers, with the same thread split as the optimizer kernels. (No `addingProduct`: built without
/// `-target-cpu`, as every build of this package is, Swift makes it a libm `fmaf` call per lane; a multiply and an
/// add stay vector instructions on any target, and the loop is bound by memory either way.)
public struct TrafficKernel {
    /// The number of state buffers besides θ and g: 2 for Adam(W), 1 for SGD with momentum.
    public let stateBuffers: Int

    public init(stateBuffers: Int) {
        precondition((1...2).contains(stateBuffers))
        self.stateBuffers = stateBuffers
    }

    /// Bytes moved per parameter.
    public var bytesPerParameter: Int { 4 * (2 + stateBuffers) + 4 * (1 + stateBuffers) }

    public func run(
        param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
        state0: UnsafeMutablePointer<Float>, state1: UnsafeMutablePointer<Float>?, count: Int
    ) {
        let pointers = Pointers(param: param, grad: grad, state0: state0, state1: state1)
        ThreadPool.current.forEachChunk(count: count, minimumChunk: ThreadPool.grain) { range in
            typealias V = SIMD16<Float>
            let p = pointers
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let g = UnsafeRawPointer(p.grad + i).loadUnaligned(as: V.self)
                let a = UnsafeRawPointer(p.state0 + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(p.state0 + i).storeBytes(of: a * 0.5 + g, as: V.self)
                if let state1 = p.state1 {
                    let b = UnsafeRawPointer(state1 + i).loadUnaligned(as: V.self)
                    UnsafeMutableRawPointer(state1 + i).storeBytes(of: b * 0.5 + g, as: V.self)
                }
                let theta = UnsafeRawPointer(p.param + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(p.param + i).storeBytes(of: theta * 0.999 + g, as: V.self)
                i += 16
            }
            while i < range.upperBound {
                let g = p.grad[i]
                p.state0[i] = p.state0[i] * 0.5 + g
                if let state1 = p.state1 { state1[i] = state1[i] * 0.5 + g }
                p.param[i] = p.param[i] * 0.999 + g
                i += 1
            }
        }
    }

    struct Pointers: @unchecked Sendable {
        let param: UnsafeMutablePointer<Float>
        let grad: UnsafePointer<Float>
        let state0: UnsafeMutablePointer<Float>
        let state1: UnsafeMutablePointer<Float>?
    }
}
