import Foundation

/// A Gaussian process over the unit square (or cube) with a Matérn 5/2 kernel, one length scale a dimension,
/// fitted to standardized observations: the surrogate of ``Tuner``'s Bayesian optimisation.
///
/// The hyperparameters (length scales and the noise) are chosen from a fixed grid by the log marginal
/// likelihood, so a fit is deterministic and needs no optimiser of its own.
public struct GaussianProcess: Sendable {
    public let points: [[Double]]
    /// The observations, standardized (mean 0, deviation 1) before the fit.
    let targets: [Double]
    let mean: Double, scale: Double
    public let lengthScales: [Double]
    public let noise: Double
    /// The Cholesky factor of K + noise·I (row-major, lower) and (K + noise·I)⁻¹·targets.
    let factor: [Double]
    let weights: [Double]

    static let lengthGrid = [0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 2.0]
    static let noiseGrid = [1e-6, 1e-4, 1e-2, 0.1]

    /// Fits `values` observed at `points` (each in [0, 1]^d, at least one).
    public init(points: [[Double]], values: [Double]) {
        precondition(!points.isEmpty && points.count == values.count, "a fit needs as many values as points")
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let deviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        let scale = deviation > 1e-12 ? deviation : 1
        let targets = values.map { ($0 - mean) / scale }
        let dimensions = points[0].count
        var best: (likelihood: Double, lengths: [Double], noise: Double, factor: [Double], weights: [Double])?
        // Every combination of one length a dimension and a noise level (7² · 4 = 196 fits of a small matrix).
        var lengthChoices: [[Double]] = [[]]
        for _ in 0..<dimensions { lengthChoices = lengthChoices.flatMap { prefix in Self.lengthGrid.map { prefix + [$0] } } }
        for lengths in lengthChoices {
            for noise in Self.noiseGrid {
                guard let (factor, weights, logDeterminant) = Self.solve(points, targets, lengths: lengths, noise: noise)
                else { continue }
                let fit = zip(targets, weights).reduce(0) { $0 + $1.0 * $1.1 }
                let likelihood = -0.5 * fit - 0.5 * logDeterminant
                if best == nil || likelihood > best!.likelihood {
                    best = (likelihood, lengths, noise, factor, weights)
                }
            }
        }
        self.points = points
        self.targets = targets
        self.mean = mean
        self.scale = scale
        // A fit always exists: with the largest noise the matrix is well conditioned.
        lengthScales = best?.lengths ?? Array(repeating: 1, count: dimensions)
        noise = best?.noise ?? 0.1
        factor = best?.factor ?? []
        weights = best?.weights ?? Array(repeating: 0, count: points.count)
    }

    /// Matérn 5/2 with unit signal variance.
    static func kernel(_ a: [Double], _ b: [Double], lengths: [Double]) -> Double {
        var squared = 0.0
        for i in a.indices { let d = (a[i] - b[i]) / lengths[i]; squared += d * d }
        let r = (5 * squared).squareRoot()
        return (1 + r + r * r / 3) * exp(-r)
    }

    /// The Cholesky factor of K + noise·I, (K + noise·I)⁻¹·y and log det(K + noise·I); nil when not positive definite.
    static func solve(_ points: [[Double]], _ y: [Double], lengths: [Double], noise: Double)
        -> (factor: [Double], weights: [Double], logDeterminant: Double)? {
        let n = points.count
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = kernel(points[i], points[j], lengths: lengths) + (i == j ? noise : 0)
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 1e-12 else { return nil }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        let z = forward(l, y, n)
        let weights = backward(l, z, n)
        let logDeterminant = 2 * (0..<n).reduce(0) { $0 + log(l[$1 * n + $1]) }
        return (l, weights, logDeterminant)
    }

    /// Solves L·z = y.
    static func forward(_ l: [Double], _ y: [Double], _ n: Int) -> [Double] {
        var z = y
        for i in 0..<n {
            for k in 0..<i { z[i] -= l[i * n + k] * z[k] }
            z[i] /= l[i * n + i]
        }
        return z
    }

    /// Solves Lᵀ·x = z.
    static func backward(_ l: [Double], _ z: [Double], _ n: Int) -> [Double] {
        var x = z
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n where k < n { x[i] -= l[k * n + i] * x[k] }
            x[i] /= l[i * n + i]
        }
        return x
    }

    /// The posterior mean and standard deviation at `point`, in the observations' units.
    public func predict(_ point: [Double]) -> (mean: Double, deviation: Double) {
        let n = points.count
        let k = points.map { Self.kernel($0, point, lengths: lengthScales) }
        let mean = zip(k, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let v = Self.forward(factor, k, n)
        let variance = max(1 - v.reduce(0) { $0 + $1 * $1 }, 1e-12)
        return (self.mean + scale * mean, scale * variance.squareRoot())
    }

    /// Expected improvement below `best` (minimization) at `point`, with exploration margin `xi` (in the
    /// observations' units).
    public func expectedImprovement(at point: [Double], best: Double, xi: Double = 0) -> Double {
        let (mean, deviation) = predict(point)
        let gain = best - mean - xi
        let z = gain / deviation
        let cdf = 0.5 * erfc(-z / 2.0.squareRoot())
        let pdf = exp(-z * z / 2) / (2 * Double.pi).squareRoot()
        return max(gain * cdf + deviation * pdf, 0)
    }
}
