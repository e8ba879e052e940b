/// A fixed-length array of Floats in SIMD- and huge-page-aligned memory, with value semantics (copy on write).
///
/// Parameters, gradients and optimizer state are `FloatBuffer`s so that the kernels stream over aligned memory.
/// It reads like an `Array`: `FloatBuffer([1, 2, 3])`, `buffer[0] = 4`, `Array(buffer)`. Copies share storage
/// until one of them is written, exactly like `Array`. Equality compares the elements with `==` (so a buffer
/// holding NaN is not equal to itself, as with `[Float]`).
public struct FloatBuffer: @unchecked Sendable {
    @usableFromInline var storage: AlignedStorage

    /// A buffer of `count` elements, all `value`.
    public init(count: Int, repeating value: Float = 0) {
        storage = Self.allocate(count)
        if value != 0 || value.sign == .minus {
            storage.pointer.update(repeating: value, count: count)
        }
    }

    /// A buffer of `count` elements whose memory `initializer` must write completely (no zero-fill first).
    public init(
        unsafeUninitializedCount count: Int, initializingWith initializer: (UnsafeMutableBufferPointer<Float>) throws -> Void
    ) rethrows {
        storage = Self.allocate(count, zeroed: false)
        try initializer(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// A buffer holding the elements of `elements`, in order.
    public init<S: Sequence>(_ elements: S) where S.Element == Float {
        let array = Array(elements)
        storage = Self.allocate(array.count)
        array.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.pointer.update(from: base, count: source.count) }
        }
    }

    /// A buffer copied from raw memory.
    public init(copying source: UnsafeBufferPointer<Float>) {
        storage = Self.allocate(source.count)
        if let base = source.baseAddress { storage.pointer.update(from: base, count: source.count) }
    }

    /// Like `Array`, a buffer traps on a negative count (a programming error); when memory runs out it calls
    /// ``OutOfMemory/fail(bytes:purpose:)``.
    @usableFromInline
    static func allocate(_ count: Int, zeroed: Bool = true) -> AlignedStorage {
        precondition(count >= 0, "FloatBuffer count must not be negative, got \(count)")
        guard let storage = AlignedStorage(count: count, zeroed: zeroed) else {
            OutOfMemory.fail(bytes: count.multipliedReportingOverflow(by: 4).partialValue, purpose: "\(count) floats")
        }
        return storage
    }

    /// Calls `body` with the elements' memory. The pointer must not escape `body`.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Calls `body` with a pointer to the first element (never nil, even for an empty buffer). The pointer must not
    /// escape `body`.
    @inlinable
    public func withUnsafePointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try body(storage.pointer)
    }

    /// Calls `body` with a pointer to the first element for writing, copying first if the storage is shared.
    @inlinable
    public mutating func withUnsafeMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        makeUnique()
        return try body(storage.pointer)
    }

    /// Calls `body` with the elements' memory for writing, copying first if the storage is shared.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    @inlinable
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = Self.allocate(storage.count)
            copy.pointer.update(from: storage.pointer, count: storage.count)
            storage = copy
        }
    }

    /// Adds `other` element by element. The counts must be equal.
    public mutating func add(_ other: UnsafeBufferPointer<Float>) {
        precondition(other.count == count, "FloatBuffer.add: counts differ")
        withUnsafeMutableBufferPointer { sum in
            for i in 0..<sum.count { sum[i] += other[i] }
        }
    }

    /// Adds `other` element by element. The counts must be equal.
    public mutating func add(_ other: FloatBuffer) {
        other.withUnsafeBufferPointer { add($0) }
    }

    /// Sets every element to `value`.
    public mutating func fill(with value: Float) {
        withUnsafeMutableBufferPointer { $0.update(repeating: value) }
    }

    /// The elements as an `Array`.
    public var array: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// Whether the two buffers share storage (no copy has been made between them).
    public func sharesStorage(with other: FloatBuffer) -> Bool { storage === other.storage }
}

extension FloatBuffer: RandomAccessCollection, MutableCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }

    @inlinable
    public subscript(position: Int) -> Float {
        get {
            precondition(position >= 0 && position < storage.count, "FloatBuffer index out of range")
            return storage.pointer[position]
        }
        set {
            precondition(position >= 0 && position < storage.count, "FloatBuffer index out of range")
            makeUnique()
            storage.pointer[position] = newValue
        }
    }
}

extension FloatBuffer: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Float...) { self.init(elements) }
}

extension FloatBuffer: Equatable {
    /// Element by element, as Float compares: NaN equals nothing, and 0 equals -0. See ``isBitwiseEqual(to:)``.
    public static func == (lhs: FloatBuffer, rhs: FloatBuffer) -> Bool {
        lhs.count == rhs.count && lhs.elementsEqual(rhs)
    }

    /// Whether both buffers hold the same bits: a copy of a buffer is bitwise equal to it, NaNs included.
    public func isBitwiseEqual(to other: FloatBuffer) -> Bool {
        count == other.count && elementsEqual(other) { $0.bitPattern == $1.bitPattern }
    }
}

extension FloatBuffer: CustomStringConvertible {
    public var description: String {
        let shown = prefix(8).map { "\($0)" }.joined(separator: ", ")
        return count > 8 ? "FloatBuffer([\(shown), … \(count) elements])" : "FloatBuffer([\(shown)])"
    }
}
