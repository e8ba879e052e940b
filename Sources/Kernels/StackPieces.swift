/// Elements a kernel handles at a time in float32 on the stack (16 KB: a whole number of 8- and 4-bit blocks), for
/// a step whose state or gradient is rebuilt in float32 piece by piece (Schedule-Free's v in another storage, the
/// gradient of a coupled decay toward a reference).
let stackPieceCount = 4096

/// Calls `body(begin, end, scratch)` over `range` cut into pieces of at most ``stackPieceCount`` elements (whole
/// `unit`s when `range` starts on one), `scratch` holding room for the piece (scratch[0] is element `begin`).
/// Nothing is allocated on the heap.
func inFloat32Pieces(of range: Range<Int>, unit: Int, _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: stackPieceCount) { scratch in
        guard let base = scratch.baseAddress else { return }
        let piece = stackPieceCount / unit * unit
        var begin = range.lowerBound
        while begin < range.upperBound {
            let end = min(begin + piece, range.upperBound)
            body(begin, end, base)
            begin = end
        }
    }
}
