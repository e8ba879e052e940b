import Foundation

/// A value axis: its range, linear or logarithmic, mapped onto a pixel span, with "nice" ticks (1, 2, 5 × 10ⁿ
/// apart on a linear axis, powers of ten on a log axis).
public struct Axis: Sendable {
    public enum Scale: Sendable { case linear, logarithmic }

    public let minimum: Double
    public let maximum: Double
    public let scale: Scale
    /// The distance between ticks of a linear axis: the nice step that `minimum` and `maximum` were rounded to.
    /// (Recomputed from the rounded range it could come out larger and put ticks off those multiples, mislabeled.)
    let step: Double

    /// An axis spanning `values` (with a little margin on a linear axis; non-positive values are ignored on a log
    /// axis), or 0…1 when there is nothing to span.
    public init(spanning values: [Double], scale: Scale = .linear, includingZero: Bool = false) {
        self.scale = scale
        let finite = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        var low = finite.min() ?? (scale == .linear ? 0 : 1)
        var high = finite.max() ?? (scale == .linear ? 1 : 10)
        var step = 1.0
        if includingZero && scale == .linear { low = min(low, 0); high = max(high, 0) }
        if scale == .logarithmic {
            // Whole decades, with the smallest value strictly above the bottom so that its bar has a height.
            let smallest = low
            var bottom = floor(log10(low))
            if pow(10, bottom) >= smallest { bottom -= 1 }
            low = pow(10, bottom)
            high = pow(10, ceil(log10(high)))
            if low == high { high = low * 10 }
        } else {
            if low == high { low -= 1; high += 1 }
            step = Self.niceStep((high - low) / 5)
            low = floor(low / step) * step
            high = ceil(high / step) * step
        }
        minimum = low
        maximum = high
        self.step = step
    }

    /// The position of `value` in 0…1 along the axis (clamped).
    public func fraction(_ value: Double) -> Double {
        let f: Double
        switch scale {
        case .linear: f = (value - minimum) / (maximum - minimum)
        case .logarithmic: f = value > 0 ? (log10(value) - log10(minimum)) / (log10(maximum) - log10(minimum)) : 0
        }
        return min(max(f.isFinite ? f : 0, 0), 1)
    }

    /// Tick values and their labels.
    public var ticks: [(value: Double, label: String)] {
        switch scale {
        case .logarithmic:
            let first = Int(log10(minimum).rounded()), last = Int(log10(maximum).rounded())
            let stride = max(1, (last - first + 5) / 6)
            return Swift.stride(from: first, through: last, by: stride).map { exponent in
                (pow(10, Double(exponent)), "1e\(exponent)")
            }
        case .linear:
            // At most a few dozen ticks, counted rather than accumulated, so that a step below the values'
            // resolution cannot loop forever.
            let steps = ((maximum - minimum) / step + 0.001).rounded(.down)
            let count = steps.isFinite ? Int(min(max(steps, 0), 50)) : 0
            let values = (0...max(count, 0)).map { index -> Double in
                let value = minimum + Double(index) * step
                return abs(value) < step / 1000 ? 0 : value
            }
            return values.map { ($0, Self.label($0, step: step)) }
        }
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(raw)))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }

    static func label(_ value: Double, step: Double) -> String {
        let decimals = max(0, -Int(floor(log10(step))))
        return String(format: "%.\(decimals)f", value)
    }
}
