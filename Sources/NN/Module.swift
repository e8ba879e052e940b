/// A layer or a model: a function of a tensor with parameters, as `torch.nn.Module`.
///
/// A module finds its parameters and sub-modules by reflection over its stored properties, so a model is just a
/// class with layers as properties:
///
/// ```swift
/// final class MLP: Module {
///     let fc1 = Linear(784, 128), fc2 = Linear(128, 10)
///     func forward(_ x: Tensor) throws(TensorError) -> Tensor { try fc2(fc1(x).relu()) }
/// }
/// ```
///
/// Properties of type ``Module``, `[Module]` and ``Optim/Parameter`` (optionally optional) are found, and their
/// names make the dotted paths of ``namedParameters()``: `fc1.weight`, `layers.1.bias`.
public protocol Module: AnyObject {
    /// The computation. Call the module itself (`model(x)`) rather than this.
    func forward(_ input: Tensor) throws(TensorError) -> Tensor

    /// Switches training-dependent behaviour (dropout) on or off. The default does nothing; see ``train()``.
    func setTraining(_ training: Bool)
}

extension Module {
    public func setTraining(_ training: Bool) {}

    /// Applies the module.
    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor { try forward(input) }

    /// The direct sub-modules, named by property (and by index inside arrays).
    public func namedChildren() -> [(name: String, module: any Module)] {
        var children: [(String, any Module)] = []
        for child in Mirror(reflecting: self).children {
            guard let label = child.label.map(Self.propertyName) else { continue }
            if let module = child.value as? any Module {
                children.append((label, module))
            } else if let modules = child.value as? [any Module] {
                children += modules.enumerated().map { ("\(label).\($0.offset)", $0.element) }
            }
        }
        return children
    }

    /// Every parameter of this module and its sub-modules, depth-first in property order, with its dotted path.
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var result: [(String, Parameter)] = []
        var seen = Set<ObjectIdentifier>()
        func visit(_ module: any Module, prefix: String) {
            for child in Mirror(reflecting: module).children {
                guard let label = child.label.map(Self.propertyName) else { continue }
                let parameter = (child.value as? Parameter) ?? ((child.value as? Parameter?) ?? nil)
                if let parameter, seen.insert(ObjectIdentifier(parameter)).inserted {
                    result.append((prefix + label, parameter))
                }
            }
            for (name, child) in module.namedChildren() { visit(child, prefix: prefix + name + ".") }
        }
        visit(self, prefix: "")
        return result
    }

    /// Every parameter, in the order of ``namedParameters()``. Each parameter's `name` is set to its dotted path,
    /// so that optimizer errors and checkpoints name it as the model does, and the parameters are gathered into
    /// one contiguous ``Optim/ParameterArena`` block (on the first call; later calls find them there), so that an
    /// optimizer step sweeps the model as one buffer. If the block cannot be allocated they stay where they are.
    public func parameters() -> [Parameter] {
        let parameters = namedParameters().map { name, parameter in
            parameter.name = name
            return parameter
        }
        try? ParameterArena.gather(parameters)
        return parameters
    }

    /// This module and all its sub-modules, depth-first.
    public func modules() -> [any Module] {
        [self] + namedChildren().flatMap { $0.module.modules() }
    }

    /// Puts this module and its sub-modules in training mode (dropout active).
    public func train() { for module in modules() { module.setTraining(true) } }

    /// Puts this module and its sub-modules in evaluation mode (dropout off).
    public func eval() { for module in modules() { module.setTraining(false) } }

    /// A lazy stored property's name without Swift's `$__lazy_storage_$_` prefix.
    static func propertyName(_ label: String) -> String {
        label.hasPrefix("$__lazy_storage_$_") ? String(label.dropFirst("$__lazy_storage_$_".count)) : label
    }
}
