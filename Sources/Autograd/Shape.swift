/// Shape arithmetic shared by the operations: element counts, strides, broadcasting.
enum Shape {
    static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// NumPy's broadcast of two shapes (aligned at the last dimension; a dimension of 1 stretches), or nil.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard x == y || x == 1 || y == 1 else { return nil }
            result[i] = x == 1 ? y : x
        }
        return result
    }

    /// The strides with which an operand of `shape` is read when broadcast to `target`: 0 along stretched axes.
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        return target.indices.map { axis in
            axis < offset || shape[axis - offset] == 1 ? 0 : own[axis - offset]
        }
    }

    /// `axis` made non-negative (−1 is the last axis), or nil when out of range.
    static func normalize(axis: Int, rank: Int) -> Int? {
        let resolved = axis < 0 ? axis + rank : axis
        return (0..<max(rank, 1)).contains(resolved) && (rank > 0 || resolved == 0) ? resolved : nil
    }

    /// Splits `shape` around `axis` into (outer, size, inner) element counts.
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, size: Int, inner: Int) {
        (count(Array(shape[..<axis])), shape[axis], count(Array(shape[(axis + 1)...])))
    }
}
