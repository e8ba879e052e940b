/// Whether operations record history for backward. Off inside ``withNoGrad(_:)``, as PyTorch's `torch.no_grad()`.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording operations: results do not require a gradient and keep no graph, which saves
/// the memory and time of evaluation.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false, operation: body)
}
