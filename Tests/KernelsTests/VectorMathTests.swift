import Foundation
import Kernels
import Testing

/// The vector exp and erf against Double libm, on every Float of a dense grid, and at the edges of their ranges.
struct VectorMathTests {
    /// The largest error of `vector` against `reference` on `inputs`, each error measured by `error(ours, exact)`.
    static func largestError(
        _ inputs: [Float], _ vector: (SIMD16<Float>) -> SIMD16<Float>, _ reference: (Double) -> Double,
        _ error: (Double, Double) -> Double
    ) -> (error: Double, at: Float) {
        var worst = (error: 0.0, at: Float.nan)
        for start in stride(from: 0, to: inputs.count, by: 16) {
            var x = SIMD16<Float>(repeating: 0)
            for lane in 0..<min(16, inputs.count - start) { x[lane] = inputs[start + lane] }
            let y = vector(x)
            for lane in 0..<min(16, inputs.count - start) {
                let e = error(Double(y[lane]), reference(Double(x[lane])))
                if !(e <= worst.error) { worst = (e, x[lane]) }
            }
        }
        return worst
    }

    static func grid(from low: Double, to high: Double, step: Double) -> [Float] {
        stride(from: low, through: high, by: step).map { Float($0) }
    }

    @Test func expIsWithinAnUlpWhereTheResultIsNormal() {
        let inputs = Self.grid(from: -87.3, to: 88.7, step: 1e-4) + Self.grid(from: -1e-3, to: 1e-3, step: 1e-7)
        let (error, at) = Self.largestError(inputs, VectorMath.exp, Foundation.exp) { ours, exact in
            abs(ours - exact) / exact
        }
        #expect(error <= 1.2e-7, "relative error \(error) at \(at)")
    }

    @Test func expUnderflowsGraduallyAndOverflowsToInfinity() {
        // Below the smallest normal Float the result is a subnormal: within one subnormal step of exact.
        let small = Self.grid(from: -103.9, to: -87.3, step: 1e-3)
        let (error, at) = Self.largestError(small, VectorMath.exp, Foundation.exp) { ours, exact in
            abs(ours - exact) / max(exact * 1.8e-7, 0x1p-149)
        }
        #expect(error <= 1, "error \(error) subnormal steps at \(at)")
        let edges: [Float] = [-.infinity, -1e30, -104.5, -103.98, 88.8, 1e30, .infinity, .nan, 0, -0.0]
        var x = SIMD16<Float>(repeating: 1)
        for (lane, value) in edges.enumerated() { x[lane] = value }
        let y = VectorMath.exp(x)
        #expect((0..<4).allSatisfy { y[$0] == 0 }, "\(y)")
        #expect((4..<7).allSatisfy { y[$0] == .infinity }, "\(y)")
        #expect(y[7].isNaN && y[8] == 1 && y[9] == 1, "\(y)")
        let largest: Float = 88.72, exact = Foundation.exp(Double(largest))
        #expect(abs(Double(VectorMath.exp(SIMD16(repeating: largest))[0]) - exact) <= 1.2e-7 * exact)
    }

    @Test func erfIsWithinHalfAMillionthOfLibm() {
        let inputs = Self.grid(from: -6, to: 6, step: 1e-5)
        let (absolute, at) = Self.largestError(inputs, VectorMath.erf, Foundation.erf) { abs($0 - $1) }
        #expect(absolute <= 4.5e-7, "absolute error \(absolute) at \(at)")
        let nearZero = Self.grid(from: -1, to: 1, step: 1e-5) + Self.grid(from: -1e-3, to: 1e-3, step: 1e-8)
            + [1e-30, -1e-30, 1e-37, -0x1p-126]
        let (relative, where_) = Self.largestError(nearZero, VectorMath.erf, Foundation.erf) { ours, exact in
            exact == 0 ? abs(ours) : abs(ours - exact) / abs(exact)
        }
        #expect(relative <= 2.5e-7, "relative error \(relative) at \(where_)")
        var x = SIMD16<Float>(repeating: 0)
        for (lane, value) in [Float.infinity, -.infinity, .nan, 1e30, -0.0, 3.919_206, -3.919_206].enumerated() {
            x[lane] = value
        }
        let y = VectorMath.erf(x)
        #expect(y[0] == 1 && y[1] == -1 && y[2].isNaN && y[3] == 1 && y[4] == 0 && y[5] == 1 && y[6] == -1, "\(y)")
    }
}
