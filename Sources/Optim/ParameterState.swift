/// What an optimizer keeps for one parameter: a step count and the buffers its rule declares (see
/// ``UpdateRule/stateBuffers``), under PyTorch's names. Buffers are created on the first step that needs them; a
/// parameter that has never been stepped has no state, unless a decay reference was given for it
/// (``RuleOptimizer/setDecayReference(_:for:)``: a state at step 0 holding only that).
///
/// ```swift
/// let m = optimizer.state(for: weight)?[.expAvg]
/// ```
///
/// Reading a buffer gives a copy: the buffers are the optimizer's own memory, written in place by every step
/// (their storage is never shared, so a step needs no copy-on-write check on them).
public final class ParameterState {
    /// The number of steps taken with a gradient (Adam, RMSprop, Adagrad). SGD leaves it 0, as PyTorch keeps no
    /// step for it.
    public internal(set) var step = 0
    /// The buffers a state of this optimizer can hold, in the rule's order.
    public let declarations: [StateBufferDeclaration]
    /// Their names.
    public var names: [StateBufferName] { declarations.map(\.name) }
    /// The buffers, in the order of ``names``; nil where a buffer has not been created. Set with
    /// ``setBuffer(_:at:)``, which keeps ``pointers`` in step.
    private(set) var slots: [StateBuffer?]
    /// The first element of each buffer in ``slots``, for the kernels.
    private(set) var pointers = StatePointers()

    init(buffers: [StateBufferDeclaration]) {
        declarations = buffers
        slots = Array(repeating: nil, count: buffers.count)
    }

    /// How the buffers are stored: every buffer of one parameter that follows its group's storage is stored alike
    /// (float32 for a rule that keeps nothing else, and for tensors a quantized storage does not take); the
    /// others are float32 (see ``StateBufferDeclaration/followsStorage``).
    public internal(set) var storage: StateStorage = .float32

    /// Makes `buffer` buffer `slot`. Its memory must be new and held by nothing but the caller's temporaries
    /// (an arena view just allocated): it is written through ``pointers`` from now on.
    func setBuffer(_ buffer: StateBuffer, at slot: Int) {
        slots[slot] = buffer
        if declarations[slot].followsStorage {
            storage = buffer.storage
            pointers.storage = buffer.storage
        }
        pointers[slot] = UnsafeMutablePointer(mutating: buffer.words.basePointer)
        pointers.setScales(buffer.scales.map { UnsafeMutablePointer(mutating: $0.basePointer) }, at: slot)
    }

    /// The buffer in `slot`, if any (the optimizer's own, not a copy).
    func slot(_ slot: Int) -> StateBuffer? { slots[slot] }

    /// A copy of the elements of the buffer `name` as float32 (decoded from its storage), or nil when this state
    /// has none.
    public subscript(name: StateBufferName) -> FloatBuffer? {
        names.firstIndex(of: name).flatMap { slots[$0]?.values }
    }

    /// A copy of the buffer `name` with its element type, or nil when this state has none.
    public func buffer(_ name: StateBufferName) -> StateBuffer? {
        names.firstIndex(of: name).flatMap { slots[$0]?.copy() }
    }

    /// For each buffer that exists, the block of memory it lives in (a ``ParameterArena``-style block of the
    /// optimizer's), or nil for a buffer in memory of its own: buffers created by one step share one block.
    public var blocks: [ObjectIdentifier?] {
        slots.compactMap { $0.map { slot in slot.words.arena.map(ObjectIdentifier.init) } }
    }

    /// The bytes the buffers and their scales take, without copying them.
    public var byteCount: Int {
        slots.reduce(0) { total, slot in total + ((slot?.words.count ?? 0) + (slot?.scales?.count ?? 0)) * 4 }
    }

    /// Copies of the buffers that exist, in the rule's order.
    public var buffers: [(name: StateBufferName, buffer: StateBuffer)] {
        zip(names, slots).compactMap { name, slot in slot.map { (name, $0.copy()) } }
    }
}
