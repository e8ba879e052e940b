import Kernels
import Synchronization
import Testing

struct ThreadPoolTests {
    @Test func runsEveryTaskExactlyOnce() throws {
        let pool = try ThreadPool(threadCount: 2)
        for tasks in [0, 1, 2, 3, 1000] {
            let counts = Locked([Int](repeating: 0, count: tasks))
            pool.run(tasks: tasks) { task in counts.withLock { $0[task] += 1 } }
            #expect(counts.withLock { $0.allSatisfy { $0 == 1 } })
        }
    }

    @Test func chunksCoverTheRangeWithoutOverlap() throws {
        let pool = try ThreadPool(threadCount: 2)
        for count in [1, 15, 17, 100_000, 1_000_003] {
            let ranges = Locked([Range<Int>]())
            pool.forEachChunk(count: count, minimumChunk: 1000) { range in ranges.withLock { $0.append(range) } }
            let sorted = ranges.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
            #expect(sorted.first?.lowerBound == 0 && sorted.last?.upperBound == count, "count \(count)")
            #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "count \(count)")
            #expect(sorted.count <= 2 && sorted.dropLast().allSatisfy { $0.lowerBound % 16 == 0 && $0.count >= 1000 })
        }
    }

    @Test func nestedAndConcurrentCallsRunAndFinish() async throws {
        let pool = try ThreadPool(threadCount: 2)
        let total = Atomic<Int>(0)
        pool.run(tasks: 4) { _ in
            pool.run(tasks: 4) { _ in total.add(1, ordering: .relaxed) }  // finds the pool busy: runs inline
        }
        #expect(total.load(ordering: .relaxed) == 16)
        let sums = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let local = Atomic<Int>(0)
                    for _ in 0..<50 { pool.run(tasks: 10) { local.add($0, ordering: .relaxed) } }
                    return local.load(ordering: .relaxed)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(sums == Array(repeating: 50 * 45, count: 8))
    }

    @Test(arguments: [0, -1, 257])
    func refusesAnInvalidThreadCount(_ count: Int) {
        #expect(throws: KernelError.invalidThreadCount(count)) { try ThreadPool(threadCount: count) }
    }

    @Test func currentPoolIsTaskLocal() throws {
        let one = try ThreadPool(threadCount: 1)
        ThreadPool.$current.withValue(one) { #expect(ThreadPool.current === one) }
        #expect(ThreadPool.current === ThreadPool.machine)
    }
}
