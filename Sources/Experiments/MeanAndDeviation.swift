/// The mean and the sample standard deviation (n − 1 in the denominator; 0 for a single value) of some values.
public struct MeanAndDeviation: Equatable, Sendable {
    public let mean: Double
    public let deviation: Double
    public let count: Int

    public init(_ values: [Double]) {
        count = values.count
        mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        let m = mean
        deviation = values.count < 2
            ? 0 : (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
    }
}
