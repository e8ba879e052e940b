/// A pointer handed to pool threads; the kernels guarantee that threads touch disjoint elements.
struct UncheckedPointer<Pointee>: @unchecked Sendable {
    let value: UnsafeMutablePointer<Pointee>
    init(_ value: UnsafeMutablePointer<Pointee>) { self.value = value }
}
