/// A named, shaped, trainable array of Floats with an optional gradient: what an optimizer updates.
///
/// A `Parameter` is a reference type, as in PyTorch: the model and the optimizer hold the same object, the caller
/// (or `loss.backward()`) writes ``grad``, and ``Optimizer/step()`` updates ``values`` in place.
///
/// ```swift
/// let weight = try Parameter(name: "fc.weight", shape: [10, 784], values: initialWeight)
/// weight.grad = FloatBuffer(gradient)          // nil means "no gradient": optimizers skip the parameter
/// ```
public final class Parameter {
    /// A name for messages and checkpoints, such as `layers.1.weight` (a module's `parameters()` sets it to the
    /// parameter's path in the model).
    public var name: String
    /// The dimensions, outermost first (row-major). `[]` is a scalar.
    public let shape: [Int]
    /// The number of elements: the product of ``shape``.
    public let count: Int
    /// The current values, row-major. Assigning a buffer of another count makes the next step throw.
    public var values: FloatBuffer {
        get { storedValues }
        set {
            storedValues = newValue
            valuesCountIsValid = newValue.count == count
        }
        _modify {
            defer { valuesCountIsValid = storedValues.count == count }
            yield &storedValues
        }
    }
    private var storedValues: FloatBuffer
    /// The gradient, or nil when there is none. Must have ``count`` elements when set.
    public var grad: FloatBuffer? {
        get { storedGrad }
        set {
            storedGrad = newValue
            gradIsFinite = nil
            gradientChanged()
        }
        _modify {
            gradIsFinite = nil
            defer { gradientChanged() }
            yield &storedGrad
        }
    }
    private var storedGrad: FloatBuffer?

    // What a step reads of every parameter, kept in the object itself whenever a buffer changes, so that a step
    // over many small tensors reads one object per parameter where it would read three (each a cache miss once
    // the step's streaming has evicted them).
    private var valuesCountIsValid = true
    private var gradientCountIsValid = true
    /// The gradient's first element, or nil when there is none.
    private(set) var gradientPointer: UnsafePointer<Float>?

    /// Records the gradient's memory and whether its count fits; called after every change to `storedGrad`.
    private func gradientChanged() {
        gradientPointer = storedGrad?.basePointer
        gradientCountIsValid = (storedGrad?.count ?? count) == count
    }

    /// Whether the values and the gradient (if any) have ``count`` elements.
    var hasValidCounts: Bool { valuesCountIsValid && gradientCountIsValid }

    /// Throws unless the values and the gradient (if any) have ``count`` elements.
    func checkCounts() throws(OptimError) {
        guard values.count == count else { throw .valueCountMismatch(name: name, shape: shape, count: values.count) }
        if let grad = storedGrad, grad.count != count {
            throw .gradientCountMismatch(name: name, expected: count, actual: grad.count)
        }
    }

    /// The values' first element for writing, copied first if the storage is shared (copy on write).
    func valuesPointer() -> UnsafeMutablePointer<Float> { storedValues.uniquePointer() }

    /// Whether ``grad`` is set, without copying it.
    package var hasGradient: Bool { storedGrad != nil }
    /// Whether every element of the gradient is finite, when known: ``accumulateGrad(_:)`` finds out as it writes
    /// the gradient, so that a step that skips non-finite gradients needs no pass of its own over them. Any other
    /// change to `grad` makes it unknown (nil).
    var gradIsFinite: Bool?
    /// The gradient that ``zeroGrad(setToNone:)`` dropped, reused by ``accumulateGrad(_:)`` so that training
    /// allocates no new gradient buffer per step (PyTorch's `set_to_none` without the allocator churn).
    private var spareGrad: FloatBuffer?

    /// Creates a parameter holding `values`.
    /// - Throws: ``OptimError/invalidShape(name:shape:)`` for a negative dimension,
    ///   ``OptimError/valueCountMismatch(name:shape:count:)`` when `values` does not have the shape's count.
    public init(name: String, shape: [Int], values: FloatBuffer) throws(OptimError) {
        let count = try Self.elementCount(name: name, shape: shape)
        guard values.count == count else {
            throw .valueCountMismatch(name: name, shape: shape, count: values.count)
        }
        self.name = name
        self.shape = shape
        self.count = count
        self.storedValues = values
    }

    /// A parameter whose values its maker built to fit `shape` (a layer of this package): no check.
    package init(name: String, checkedShape shape: [Int], values: FloatBuffer) {
        self.name = name
        self.shape = shape
        self.count = values.count
        self.storedValues = values
    }

    /// Creates a parameter holding `values`, copied into aligned memory.
    public convenience init(name: String, shape: [Int], values: [Float]) throws(OptimError) {
        try self.init(name: name, shape: shape, values: FloatBuffer(values))
    }

    /// Creates a parameter of `shape` filled with zeros.
    public convenience init(name: String, shape: [Int]) throws(OptimError) {
        let count = try Self.elementCount(name: name, shape: shape)
        try self.init(name: name, shape: shape, values: FloatBuffer(count: count))
    }

    /// The product of `shape`'s dimensions.
    /// - Throws: ``OptimError/invalidShape(name:shape:)`` for a negative dimension or a product that overflows.
    private static func elementCount(name: String, shape: [Int]) throws(OptimError) -> Int {
        guard let count = elementCount(of: shape) else { throw .invalidShape(name: name, shape: shape) }
        return count
    }

    /// The product of `shape`'s dimensions, or nil for a negative dimension or a product that overflows `Int`.
    public static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Adds `gradient` into ``grad``, creating it (from reused memory when possible) if it is nil.
    /// - Throws: ``OptimError/gradientCountMismatch(name:expected:actual:)`` when the counts differ.
    public func accumulateGrad(_ gradient: UnsafeBufferPointer<Float>) throws(OptimError) {
        guard gradient.count == count else {
            throw .gradientCountMismatch(name: name, expected: count, actual: gradient.count)
        }
        guard let source = gradient.baseAddress else { return }
        if storedGrad != nil {
            // The check reads the sums themselves, so it covers the old gradient too.
            gradIsFinite = storedGrad?.withUnsafeMutablePointer { target in
                Reductions.addCheckingFinite(source, to: target, count: count)
            }
            gradientChanged()  // a shared gradient was copied first
            return
        }
        var fresh = spareGrad.take().flatMap { $0.count == count ? $0 : nil } ?? FloatBuffer(count: count)
        let finite = fresh.withUnsafeMutablePointer { target in
            Reductions.copyCheckingFinite(from: source, to: target, count: count)
        }
        storedGrad = fresh
        gradIsFinite = finite
        gradientChanged()
    }

    /// A first gradient written in place: when the parameter has none, `body` writes all ``count`` elements into
    /// its gradient memory (the arena's, when it has one) and that becomes ``grad``, its finiteness unknown; with a
    /// gradient already there, nothing is called and the result is false (add to it with ``accumulateGrad(_:)``).
    /// Also false when a step's backward pass must sum in its own order (``Autograd``'s engine decides).
    /// What a layer's backward uses to spare a weight-sized buffer and its copy.
    package func writeFirstGradient(_ body: (UnsafeMutablePointer<Float>) -> Void) -> Bool {
        guard storedGrad == nil else { return false }
        var fresh = spareGrad.take().flatMap { $0.count == count ? $0 : nil } ?? FloatBuffer(unsafeUninitializedCount: count) { _ in }
        fresh.withUnsafeMutablePointer(body)
        storedGrad = fresh
        gradIsFinite = nil
        gradientChanged()
        return true
    }

    /// Adds to the gradient in place: `body` gets the gradient's memory (unique) and returns whether every element
    /// it leaves is finite; false, calling nothing, when there is no gradient.
    package func addToGradient(_ body: (UnsafeMutablePointer<Float>) -> Bool) -> Bool {
        // A gradient of another size is left to accumulateGrad, which refuses it.
        // (Not bound to a name: a second reference would make the write below copy the gradient.)
        guard storedGrad?.count == count else { return false }
        gradIsFinite = storedGrad?.withUnsafeMutablePointer(body)
        gradientChanged()  // a shared gradient was copied first
        return true
    }

    /// Takes `values` and `gradient` (both of ``count`` elements, views into a ``ParameterArena`` block that
    /// already hold the values and any current gradient) as this parameter's memory: later gradients are written
    /// there too.
    func move(values target: FloatBuffer, gradient: FloatBuffer) {
        precondition(target.count == count && gradient.count == count, "arena buffers of the wrong size")
        values = target
        if storedGrad != nil {
            storedGrad = gradient
            spareGrad = nil
            gradientChanged()
        } else {
            spareGrad = gradient
        }
    }

    /// Sets ``grad`` to nil (`setToNone`, PyTorch's default) or to zeros.
    public func zeroGrad(setToNone: Bool = true) {
        if setToNone {
            if let dropped = storedGrad.take() { spareGrad = dropped }
            gradIsFinite = nil
        } else if storedGrad != nil {
            storedGrad?.fill(with: 0)
            gradIsFinite = true
        }
        gradientChanged()
    }

    /// Whether every element of the gradient is finite (true when there is no gradient), from the known flag or,
    /// when unknown, from one pass over the gradient, which is then remembered.
    package func gradientIsFinite() -> Bool {
        if let known = gradIsFinite { return known }
        guard let grad = storedGrad else { return true }
        let finite = grad.withUnsafePointer { Reductions.allFinite($0, count: grad.count) }
        gradIsFinite = finite
        return finite
    }

    /// Marks the gradient's finiteness after an operation that knows it (clipping by a finite factor keeps it).
    package func setGradientFiniteness(_ finite: Bool?) { gradIsFinite = finite }
}

extension Parameter: CustomStringConvertible {
    public var description: String { "Parameter(\(name), shape: \(shape))" }
}
