import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reductions over Float memory, accumulated in Double, with results independent of the thread count.
///
/// The input is cut into blocks of ``blockSize`` elements whatever the number of threads; each block's partial
/// result is computed alone (on any thread) and the partials are combined in block order. So the same input
/// gives bitwise the same result on 1 thread or 16.
public enum Reductions {
    /// The fixed block size that makes results independent of the thread count.
    public static let blockSize = 1 << 16

    /// Σ xᵢ², each block in C (`adamw_sum_of_squares`: Double accumulators, fused multiply-adds on the FMA paths).
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let path = CPUPath.current.code
        return blockwiseSum(x, count: count) { block, n in adamw_sum_of_squares(path, block, n) }
    }

    /// Σ |xᵢ|
    public static func sumOfMagnitudes(_ x: UnsafePointer<Float>, count: Int) -> Double {
        blockwiseSum(x, count: count) { block, n in
            var acc = SIMD8<Double>()
            var i = 0
            while i + 8 <= n {
                let a = SIMD8<Double>(UnsafeRawPointer(block + i).loadUnaligned(as: SIMD8<Float>.self))
                acc += a.replacing(with: -a, where: a .< 0)
                i += 8
            }
            var total = acc.sum()
            while i < n { total += Double(abs(block[i])); i += 1 }
            return total
        }
    }

    /// Σ |xᵢ|ᵖ for any exponent p.
    public static func sumOfPowers(_ x: UnsafePointer<Float>, count: Int, exponent: Double) -> Double {
        blockwiseSum(x, count: count) { block, n in
            var total = 0.0
            for i in 0..<n { total += pow(Double(abs(block[i])), exponent) }
            return total
        }
    }

    /// max |xᵢ|, NaN if any element is NaN, 0 for no elements.
    public static func maxMagnitude(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var result: Float = 0
        blockwiseSum(x, count: count) { block, n in
            var acc = SIMD16<Float>()
            var sawNaN = false
            var i = 0
            while i + 16 <= n {
                let a = UnsafeRawPointer(block + i).loadUnaligned(as: SIMD16<Float>.self)
                let magnitude = a.replacing(with: -a, where: a .< 0)
                if any(magnitude .!= magnitude) { sawNaN = true }
                acc = acc.replacing(with: magnitude, where: magnitude .> acc)
                i += 16
            }
            var best = acc.max()
            while i < n {
                let magnitude = abs(block[i])
                if magnitude.isNaN { sawNaN = true } else if magnitude > best { best = magnitude }
                i += 1
            }
            return sawNaN ? .nan : Double(best)
        } combine: { partials in
            result = partials.contains { $0.isNaN } ? .nan : Float(partials.max() ?? 0)
        }
        return result
    }

    /// The p-norm (Σ|xᵢ|ᵖ)^(1/p) for `order` p > 0, or max |xᵢ| for `order` `.infinity`, rounded to Float.
    public static func norm(_ x: UnsafePointer<Float>, count: Int, order: Double) -> Float {
        switch order {
        case .infinity: return maxMagnitude(x, count: count)
        case 2: return Float(sumOfSquares(x, count: count).squareRoot())
        case 1: return Float(sumOfMagnitudes(x, count: count))
        default: return Float(pow(sumOfPowers(x, count: count, exponent: order), 1 / order))
        }
    }

    /// xᵢ ← xᵢ · factor, in parallel for large counts.
    public static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        let pointer = UncheckedPointer(x)
        ThreadPool.current.forEachChunk(count: count, minimumChunk: ThreadPool.grain) { range in
            let x = pointer.value
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * factor
                UnsafeMutableRawPointer(x + i).storeBytes(of: v, as: SIMD16<Float>.self)
                i += 16
            }
            while i < range.upperBound { x[i] *= factor; i += 1 }
        }
    }

    @discardableResult
    fileprivate static func blockwiseSum(
        _ x: UnsafePointer<Float>, count: Int,
        block: (UnsafePointer<Float>, Int) -> Double,
        combine: (UnsafeBufferPointer<Double>) -> Void = { _ in }
    ) -> Double {
        guard count > 0 else { combine(UnsafeBufferPointer(start: nil, count: 0)); return 0 }
        let blocks = (count + blockSize - 1) / blockSize
        let input = UncheckedPointer(UnsafeMutablePointer(mutating: x))
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: blocks) { partials in
            guard let base = partials.baseAddress else { return 0 }
            let output = UncheckedPointer(base)
            ThreadPool.current.run(tasks: blocks) { index in
                let start = index * blockSize
                output.value[index] = block(input.value + start, Swift.min(blockSize, count - start))
            }
            combine(UnsafeBufferPointer(partials))
            var total = 0.0
            for partial in partials { total += partial }
            return total
        }
    }
}

extension Reductions {
    /// Whether every element is finite (no NaN, no ±infinity), in one pass: x − x is 0 for a finite x and NaN
    /// otherwise, and NaN is sticky under addition, so the loop needs no comparison per element.
    public static func allFinite(_ x: UnsafePointer<Float>, count: Int) -> Bool {
        let result = blockwiseSum(x, count: count) { block, n in
            var acc = SIMD16<Float>()
            var i = 0
            while i + 16 <= n {
                let v = UnsafeRawPointer(block + i).loadUnaligned(as: SIMD16<Float>.self)
                acc += v - v
                i += 16
            }
            var tail: Float = 0
            while i < n { tail += block[i] - block[i]; i += 1 }
            return Double(acc.sum() + tail)
        }
        return !result.isNaN
    }

    /// target ← source, returning whether every element was finite (one pass over the memory for both).
    public static func copyCheckingFinite(
        from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int
    ) -> Bool {
        combineCheckingFinite(source, target, count: count) { value, _ in value }
    }

    /// target ← target + source, returning whether every result is finite.
    public static func addCheckingFinite(
        _ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int
    ) -> Bool {
        combineCheckingFinite(source, target, count: count) { value, old in old + value }
    }

    @inline(__always)
    private static func combineCheckingFinite(
        _ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int,
        _ combine: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>
    ) -> Bool {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            let value = combine(UnsafeRawPointer(source + i).loadUnaligned(as: SIMD16<Float>.self),
                                UnsafeRawPointer(target + i).loadUnaligned(as: SIMD16<Float>.self))
            UnsafeMutableRawPointer(target + i).storeBytes(of: value, as: SIMD16<Float>.self)
            acc += value - value
            i += 16
        }
        var finite = !acc.sum().isNaN
        while i < count {
            var lanes = SIMD16<Float>(), old = SIMD16<Float>()
            lanes[0] = source[i]
            old[0] = target[i]
            let value = combine(lanes, old)[0]
            target[i] = value
            finite = finite && value.isFinite
            i += 1
        }
        return finite
    }
}
