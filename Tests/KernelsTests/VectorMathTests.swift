import Foundation
import Kernels
import Testing

/// The vector exp and erf against Double libm, on every Float of a dense grid, and at the edges of their ranges, on
/// every path this CPU runs (with and without fused multiply-adds).
struct VectorMathTests {
    typealias Function = @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, CPUPath) -> Void
    static let exp: Function = { VectorMath.exp($0, $1, count: $2, path: $3) }
    static let erf: Function = { VectorMath.erf($0, $1, count: $2, path: $3) }

    /// The largest error of `vector` against `reference` on `inputs` over every path, each error measured by
    /// `error(ours, exact)`.
    static func largestError(
        _ inputs: [Float], _ vector: Function, _ reference: (Double) -> Double, _ error: (Double, Double) -> Double
    ) -> (error: Double, at: Float, path: CPUPath) {
        var worst = (error: 0.0, at: Float.nan, path: CPUPath.generic)
        for path in CPUPath.supported {
            var y = [Float](repeating: 0, count: inputs.count)
            y.withUnsafeMutableBufferPointer { vector(inputs, $0.baseAddress!, inputs.count, path) }
            for (x, value) in zip(inputs, y) {
                let e = error(Double(value), reference(Double(x)))
                if !(e <= worst.error) { worst = (e, x, path) }
            }
        }
        return worst
    }

    /// `vector` of `inputs` on `path`.
    static func values(_ inputs: [Float], _ vector: Function, path: CPUPath) -> [Float] {
        var y = [Float](repeating: 0, count: inputs.count)
        y.withUnsafeMutableBufferPointer { vector(inputs, $0.baseAddress!, inputs.count, path) }
        return y
    }

    static func grid(from low: Double, to high: Double, step: Double) -> [Float] {
        stride(from: low, through: high, by: step).map { Float($0) }
    }

    @Test func expIsWithinAnUlpWhereTheResultIsNormal() {
        let inputs = Self.grid(from: -87.3, to: 88.7, step: 1e-4) + Self.grid(from: -1e-3, to: 1e-3, step: 1e-7)
        let (error, at, path) = Self.largestError(inputs, Self.exp, Foundation.exp) { ours, exact in
            abs(ours - exact) / exact
        }
        #expect(error <= 1.2e-7, "relative error \(error) at \(at) on \(path)")
    }

    @Test func expUnderflowsGraduallyAndOverflowsToInfinity() {
        // Below the smallest normal Float the result is a subnormal: within one subnormal step of exact.
        let small = Self.grid(from: -103.9, to: -87.3, step: 1e-3)
        let (error, at, path) = Self.largestError(small, Self.exp, Foundation.exp) { ours, exact in
            abs(ours - exact) / max(exact * 1.8e-7, 0x1p-149)
        }
        #expect(error <= 1, "error \(error) subnormal steps at \(at) on \(path)")
        let edges: [Float] = [-.infinity, -1e30, -104.5, -103.98, 88.8, 1e30, .infinity, .nan, 0, -0.0, 88.72]
        let largest = Foundation.exp(Double(88.72 as Float))
        for path in CPUPath.supported {
            let y = Self.values(edges, Self.exp, path: path)
            #expect((0..<4).allSatisfy { y[$0] == 0 }, "\(path): \(y)")
            #expect((4..<7).allSatisfy { y[$0] == .infinity }, "\(path): \(y)")
            #expect(y[7].isNaN && y[8] == 1 && y[9] == 1, "\(path): \(y)")
            #expect(abs(Double(y[10]) - largest) <= 1.2e-7 * largest, "\(path): \(y[10])")
        }
    }

    @Test func erfIsWithinHalfAMillionthOfLibm() {
        let inputs = Self.grid(from: -6, to: 6, step: 1e-5)
        let (absolute, at, path) = Self.largestError(inputs, Self.erf, Foundation.erf) { abs($0 - $1) }
        #expect(absolute <= 4.5e-7, "absolute error \(absolute) at \(at) on \(path)")
        let nearZero = Self.grid(from: -1, to: 1, step: 1e-5) + Self.grid(from: -1e-3, to: 1e-3, step: 1e-8)
            + [1e-30, -1e-30, 1e-37, -0x1p-126]
        let (relative, where_, nearPath) = Self.largestError(nearZero, Self.erf, Foundation.erf) { ours, exact in
            exact == 0 ? abs(ours) : abs(ours - exact) / abs(exact)
        }
        #expect(relative <= 2.5e-7, "relative error \(relative) at \(where_) on \(nearPath)")
        for path in CPUPath.supported {
            let y = Self.values([.infinity, -.infinity, .nan, 1e30, -0.0, 3.919_206, -3.919_206], Self.erf, path: path)
            #expect(y[0] == 1 && y[1] == -1 && y[2].isNaN && y[3] == 1 && y[4] == 0 && y[5] == 1 && y[6] == -1,
                    "\(path): \(y)")
        }
    }
}
