/// Modules applied in order, as `torch.nn.Sequential`, built with a result builder:
///
/// ```swift
/// let model = Sequential { Flatten(); Linear(784, 128); ReLU(); Linear(128, 10) }
/// ```
///
/// Its parameters are named `layers.<index>.<name>`.
public final class Sequential: Module {
    public let layers: [any Module]

    public init(@ModuleBuilder _ build: () -> [any Module]) { layers = build() }

    public init(_ layers: [any Module]) { self.layers = layers }

    public func forward(_ input: Tensor) throws(TensorError) -> Tensor {
        var x = input
        for layer in layers { x = try layer(x) }
        return x
    }
}

/// Collects the modules listed in a ``Sequential`` block, with `if`, `for` and optional parts.
@resultBuilder
public enum ModuleBuilder {
    public static func buildExpression(_ module: any Module) -> [any Module] { [module] }
    public static func buildExpression(_ modules: [any Module]) -> [any Module] { modules }
    public static func buildBlock(_ parts: [any Module]...) -> [any Module] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [any Module]?) -> [any Module] { part ?? [] }
    public static func buildEither(first: [any Module]) -> [any Module] { first }
    public static func buildEither(second: [any Module]) -> [any Module] { second }
    public static func buildArray(_ parts: [[any Module]]) -> [any Module] { parts.flatMap { $0 } }
}
