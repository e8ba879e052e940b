/// Whether operations record history for backward. Off inside ``withNoGrad(_:)``, as PyTorch's `torch.no_grad()`.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording operations: results do not require a gradient and keep no graph, which saves
/// the memory and time of evaluation.
/// `body`'s error comes out with its own type (`TaskLocal.withValue` only rethrows untyped, hence the `Result`).
public func withNoGrad<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    try GradMode.$isEnabled.withValue(false) { Result(catching: body) }.get()
}
