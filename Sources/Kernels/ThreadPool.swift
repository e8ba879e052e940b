#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A fixed set of persistent worker threads that run data-parallel loops: no thread is created, and nothing is
/// allocated, per call.
///
/// The calling thread takes part in the work, so a pool of `threadCount` T has T − 1 workers. The kernels divide
/// their work into pieces whose results do not depend on which thread runs them, so a result is bitwise the same
/// for every thread count.
///
/// The pool in use is ``current``, a task-local value: `ThreadPool.$current.withValue(try ThreadPool(threadCount: 1))
/// { … }` runs a block on one thread. Calls from several threads at once are safe: a call that finds the pool busy
/// runs its loop on the calling thread alone. A loop body that calls back into the pool runs inline likewise.
public final class ThreadPool: @unchecked Sendable {
    /// The number of threads a loop runs on, the caller's included.
    public let threadCount: Int
    private let shared: Shared?

    /// One pool per process, sized to the processors this process may use.
    public static let machine: ThreadPool = {
        let count = min(max(1, usableProcessorCount()), 256)
        return (try? ThreadPool(threadCount: count)) ?? ThreadPool(uncheckedThreadCount: 1)
    }()

    /// The processors this process may run on: its CPU affinity mask on Linux (a container or `taskset` may allow
    /// fewer than the machine has, and more workers than processors would only contend), else those online.
    public static func usableProcessorCount() -> Int {
        #if os(Linux)
        // The mask as the kernel prints it, e.g. "Cpus_allowed:\t00000000,00000003" (hex, comma-grouped).
        // Read here because Swift's Glibc does not export sched_getaffinity (a GNU extension).
        if let file = fopen("/proc/self/status", "r") {
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 4096)
            while fgets(&line, Int32(line.count), file) != nil {
                let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                guard text.hasPrefix("Cpus_allowed:") else { continue }
                let allowed = text.dropFirst("Cpus_allowed:".count).reduce(0) { count, character in
                    count + (character.hexDigitValue?.nonzeroBitCount ?? 0)
                }
                if allowed > 0 { return allowed }
                break
            }
        }
        #endif
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// The pool that kernels use. Defaults to ``machine``; bind another with `ThreadPool.$current.withValue`.
    @TaskLocal public static var current: ThreadPool = .machine

    /// Creates a pool of `threadCount` threads (1...256), the caller's included.
    public init(threadCount: Int) throws(KernelError) {
        guard (1...256).contains(threadCount) else { throw .invalidThreadCount(threadCount) }
        self.threadCount = threadCount
        self.shared = threadCount > 1 ? Shared(workers: threadCount - 1) : nil
    }

    private init(uncheckedThreadCount: Int) {
        threadCount = uncheckedThreadCount
        shared = nil
    }

    deinit { shared?.stop() }

    /// Reusable scratch memory, so that kernels such as GEMM allocate nothing per call once warm.
    private let scratch = Locked<[AlignedStorage]>([])

    /// Calls `body` with at least `floats` floats of 64-byte-aligned scratch memory (huge-page-aligned when large),
    /// taken from this pool's cache and returned to it afterwards. Safe to call from several threads at once.
    public func withScratch<R>(floats: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let cached = scratch.withLock { list -> AlignedStorage? in
            guard let index = list.firstIndex(where: { $0.count >= floats }) else { return nil }
            return list.remove(at: index)
        }
        guard let storage = cached ?? AlignedStorage(count: floats) else {
            OutOfMemory.fail(bytes: floats.multipliedReportingOverflow(by: 4).partialValue, purpose: "\(floats) floats of scratch memory")
        }
        defer {
            scratch.withLock { list in
                list.append(storage)
                if list.count > 8 { list.removeFirst() }
            }
        }
        return try body(storage.pointer)
    }

    /// Runs `body(task)` once for every task in `0..<tasks`, spread over the pool's threads, and returns when all
    /// have finished. Tasks may run in any order and on any thread.
    public func run(tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 0 else { return }
        guard tasks > 1, let shared, shared.tryBegin() else {
            for task in 0..<tasks { body(task) }
            return
        }
        withoutActuallyEscaping(body) { body in
            shared.dispatch(tasks: tasks, body)
        }
    }

    /// The package's threading grain: elements per thread below which an element-wise sweep (an optimizer's step,
    /// a reduction) runs on one thread, because waking a worker costs more than it saves.
    public static let grain = 1 << 15

    /// Splits `0..<count` into at most `threadCount` contiguous ranges of at least `minimumChunk` elements each,
    /// starting on multiples of `alignment`, and runs `body` on each range in parallel.
    public func forEachChunk(
        count: Int, minimumChunk: Int, alignment: Int = 16, _ body: (Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let chunks = Swift.min(threadCount, Swift.max(1, count / Swift.max(minimumChunk, 1)))
        if chunks == 1 { body(0..<count); return }
        let perChunk = ((count + chunks - 1) / chunks + alignment - 1) / alignment * alignment
        run(tasks: chunks) { chunk in
            let start = Swift.min(chunk * perChunk, count)
            let end = Swift.min(start + perChunk, count)
            if start < end { body(start..<end) }
        }
    }

    /// Cuts `0..<count` into consecutive ranges of `chunk` elements (the last may be shorter), the same ranges
    /// whatever the thread count, and runs `body` on each range in parallel. For kernels whose rounding depends on
    /// where a range starts or ends (a partial vector, a partial sum): their results do not depend on the pool.
    public func forEachFixedChunk(count: Int, chunk: Int, _ body: (Range<Int>) -> Void) {
        precondition(chunk > 0, "forEachFixedChunk: the chunk must be positive")
        guard count > 0 else { return }
        run(tasks: (count - 1) / chunk + 1) { task in
            let start = task * chunk
            body(start..<Swift.min(start + chunk, count))
        }
    }
}

/// The state the caller and the workers share. Workers wait on `generation`; the caller waits on `pending`.
private final class Shared: @unchecked Sendable {
    let workers: Int
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    let busy = Atomic<Bool>(false)
    let generation = Atomic<Int>(0)
    let nextTask = Atomic<Int>(0)
    let pending = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let running = Atomic<Int>(0)
    // Written by the caller before `generation` is bumped, read by workers after: the atomics order them.
    nonisolated(unsafe) var job: ((Int) -> Void)?
    nonisolated(unsafe) var taskCount = 0

    /// Spinning this many times (~5 µs) before sleeping lets back-to-back loops (a GEMM per layer) skip the futex.
    static let spins = 20_000
    /// The caller spins up to this many times (~15 µs) for the workers to finish their last tasks before it
    /// sleeps: they are running, so the wait is at most a task's length, and a futex wake of the caller costs
    /// tens of µs on a virtual machine. With the workers' 5 µs, two threads were slower than one on 768×128×512
    /// products (230 vs 250 GFLOP/s; 460 now). Longer (50 µs) gained another 3% on adamw gpt but lost 10% next to
    /// a busy process, whose processor the spinning caller keeps from the worker it waits for.
    static let finishSpins = 60_000

    init(workers: Int) {
        self.workers = workers
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        for _ in 0..<workers {
            let context = Unmanaged.passRetained(self).toOpaque()
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { context in
                guard let context else { return nil }
                let shared = Unmanaged<Shared>.fromOpaque(context).takeRetainedValue()
                shared.workerLoop()
                return nil
            }, context)
            if started == 0 {
                pthread_detach(thread)
                running.add(1, ordering: .relaxed)
            } else {
                Unmanaged<Shared>.fromOpaque(context).release()
            }
        }
    }

    func tryBegin() -> Bool {
        running.load(ordering: .relaxed) == workers
            && busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func dispatch(tasks: Int, _ body: @escaping (Int) -> Void) {
        job = body
        taskCount = tasks
        nextTask.store(0, ordering: .relaxed)
        pending.store(workers, ordering: .relaxed)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        runTasks(body)
        var spun = 0
        while pending.load(ordering: .acquiring) > 0 && spun < Self.finishSpins { spun += 1 }
        if pending.load(ordering: .acquiring) > 0 {
            pthread_mutex_lock(mutex)
            while pending.load(ordering: .acquiring) > 0 { pthread_cond_wait(done, mutex) }
            pthread_mutex_unlock(mutex)
        }
        job = nil
        busy.store(false, ordering: .releasing)
    }

    private func runTasks(_ body: (Int) -> Void) {
        while true {
            let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if task >= taskCount { return }
            body(task)
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var spun = 0
            while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .relaxed)
                && spun < Self.spins { spun += 1 }
            if generation.load(ordering: .acquiring) == seen {
                pthread_mutex_lock(mutex)
                while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .relaxed) {
                    pthread_cond_wait(wake, mutex)
                }
                pthread_mutex_unlock(mutex)
            }
            if stopping.load(ordering: .relaxed) { return }
            seen = generation.load(ordering: .acquiring)
            if let body = job { runTasks(body) }
            if pending.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Asks the workers to exit. They hold this object until they do, so its memory outlives them.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping.store(true, ordering: .relaxed)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
    }
}
