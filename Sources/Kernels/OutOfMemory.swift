/// What happens when a buffer cannot be allocated: by default a trap naming the size (as `Array` traps), or
/// whatever a program installs instead — the `adamw` command prints one line and exits with status 1.
///
/// Sizes a user types are checked before anything is allocated; this is for what no estimate foresees (other
/// processes taking the memory, a `ulimit`).
public enum OutOfMemory {
    /// Receives the bytes asked for and what they were for; must not return.
    public typealias Handler = @Sendable (_ bytes: Int, _ purpose: String) -> Never

    private static let installed = Locked<Handler?>(nil)

    /// Replaces the handler (nil: the default trap).
    public static func setHandler(_ handler: Handler?) { installed.withLock { $0 = handler } }

    /// Reports that `bytes` for `purpose` could not be allocated; does not return.
    public static func fail(bytes: Int, purpose: String) -> Never {
        if let handler = installed.withLock({ $0 }) { handler(bytes, purpose) }
        fatalError("out of memory allocating \(bytes) bytes of \(purpose)")
    }
}
