/// Many buffers in one contiguous block of memory, as llm.c keeps every parameter in one allocation.
///
/// The block is 2 MiB-aligned and advised as huge pages when it is large (see ``AlignedStorage``), and each
/// buffer starts on a 64-byte boundary (a multiple of 16 Floats), so that a kernel sweeping many small buffers
/// streams through memory the way it does through one large one. The buffers are ordinary ``FloatBuffer``s:
/// views that keep the block alive. Writing to a view that is shared copies it out of the block (copy on write),
/// which is correct but gives up the contiguity; code that keeps a buffer in its arena writes it through its one
/// owner.
public enum FloatArena {
    /// Elements a buffer's start is aligned to: one cache line, one AVX-512 register.
    public static let alignment = 16

    /// Buffers of `counts` elements in one block, in order, each zeroed and then passed to `initialize` with its
    /// index (to copy values in) before it is handed out: written afterwards, a view still shared with the
    /// returned array would be copied out of the block.
    /// - Throws: ``KernelError/allocationTooLarge(elements:)`` for a negative count, a total that overflows, or
    ///   memory that cannot be had.
    public static func buffers(
        counts: [Int], initialize: (Int, UnsafeMutableBufferPointer<Float>) -> Void = { _, _ in }
    ) throws(KernelError) -> [FloatBuffer] {
        var offsets: [Int] = []
        offsets.reserveCapacity(counts.count)
        var total = 0
        for count in counts {
            guard count >= 0, let padded = roundedUp(count) else { throw .allocationTooLarge(elements: count) }
            offsets.append(total)
            let (sum, overflow) = total.addingReportingOverflow(padded)
            guard !overflow else { throw .allocationTooLarge(elements: sum) }
            total = sum
        }
        guard let block = AlignedStorage(count: total) else { throw .allocationTooLarge(elements: total) }
        for (index, (offset, count)) in zip(offsets, counts).enumerated() {
            initialize(index, UnsafeMutableBufferPointer(start: block.pointer + offset, count: count))
        }
        return zip(offsets, counts).map { offset, count in
            FloatBuffer(storage: AlignedStorage(viewing: block, offset: offset, count: count))
        }
    }

    /// `count` rounded up to a multiple of ``alignment``, or nil on overflow.
    public static func roundedUp(_ count: Int) -> Int? {
        let (sum, overflow) = count.addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum / alignment * alignment
    }
}

extension FloatBuffer {
    /// Wraps existing storage (an arena view).
    init(storage: AlignedStorage) { self.storage = storage }

    /// The block this buffer is a view into, when it lives in a ``FloatArena``.
    public var arena: AnyObject? { storage.owner }

    /// A pointer to the first element for writing, valid as long as this buffer's storage is neither released nor
    /// copied; the storage is made unique first. For the optimizers' sweeps, which gather the pointers of many
    /// buffers before one parallel loop and hold every buffer meanwhile.
    public mutating func uniquePointer() -> UnsafeMutablePointer<Float> {
        makeUnique()
        return storage.pointer
    }

    /// A pointer to the first element for reading, valid as long as this buffer's storage is not released.
    public var basePointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
}
