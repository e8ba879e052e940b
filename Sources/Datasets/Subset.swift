/// Some samples of a dataset, by index: a training subset, or a validation split held out of the training set.
public struct Subset<Base: LabeledDataset>: LabeledDataset {
    public let base: Base
    public let indices: [Int]

    /// The samples of `base` at `indices` (each in 0..<base.count), in that order.
    /// - Throws: ``DatasetError/invalidArgument(name:value:)`` naming the first index out of range.
    public init(_ base: Base, indices: [Int]) throws(DatasetError) {
        if let bad = indices.first(where: { !(0..<base.count).contains($0) }) {
            throw .invalidArgument(name: "sample index", value: bad)
        }
        self.base = base
        self.indices = indices
        isIdentity = indices.elementsEqual(0..<base.count)
    }

    /// Every sample of `base`.
    public init(all base: Base) {
        self.base = base
        indices = Array(0..<base.count)
        isIdentity = true
    }

    /// Whether the subset is all of `base` in its order: batches then read `base` directly, without mapping each
    /// index (a copy per batch) — the common case of training on a whole training set.
    private let isIdentity: Bool

    public var count: Int { indices.count }
    public var sampleShape: [Int] { base.sampleShape }

    public func fill(_ positions: ArraySlice<Int>, into batch: UnsafeMutablePointer<Float>) {
        if isIdentity {
            base.fill(positions, into: batch)
        } else {
            base.fill(positions.map { indices[$0] }[...], into: batch)
        }
    }

    public func label(at index: Int) -> Int { base.label(at: isIdentity ? index : indices[index]) }
}
