import Datasets
import Testing

/// A dataset whose sample i is the single value i and whose label is i % 3.
struct Counting: LabeledDataset {
    let count: Int
    var sampleShape: [Int] { [1] }
    func fill(_ indices: ArraySlice<Int>, into batch: UnsafeMutablePointer<Float>) {
        for (row, index) in indices.enumerated() { batch[row] = Float(index) }
    }
    func label(at index: Int) -> Int { index % 3 }
}

struct DataLoaderTests {
    @Test func keepsTheLastPartialBatchUnlessDropLast() throws {
        let loader = try DataLoader(Counting(count: 10), batchSize: 4)
        #expect(loader.map { $0.data.array } == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        #expect(loader.map(\.target) == [[0, 1, 2, 0], [1, 2, 0, 1], [2, 0]])
        #expect(loader.batchCount == 3)
        let dropping = try DataLoader(Counting(count: 10), batchSize: 4, dropLast: true)
        #expect(dropping.map { $0.data.shape } == [[4, 1], [4, 1]] && dropping.batchCount == 2)
        #expect(try DataLoader(Counting(count: 0), batchSize: 4).map { $0 }.isEmpty)
    }

    @Test func shufflesReproduciblyWithANewOrderEachPass() throws {
        let first = try DataLoader(Counting(count: 1000), batchSize: 64, shuffle: true, seed: 42)
        let second = try DataLoader(Counting(count: 1000), batchSize: 64, shuffle: true, seed: 42)
        let passOne = first.flatMap { $0.data.array }, passTwo = first.flatMap { $0.data.array }
        #expect(passOne == second.flatMap { $0.data.array }, "same seed, same order")
        #expect(passOne != passTwo, "each pass reshuffles")
        #expect(passOne.sorted() == (0..<1000).map(Float.init), "each sample exactly once")
        #expect(passOne != (0..<1000).map(Float.init))
        let other = try DataLoader(Counting(count: 1000), batchSize: 64, shuffle: true, seed: 43)
        #expect(other.flatMap { $0.data.array } != passOne)
    }

    @Test func refusesABatchSizeBelowOne() {
        #expect(throws: DatasetError.invalidArgument(name: "batch size", value: 0)) {
            try DataLoader(Counting(count: 3), batchSize: 0)
        }
    }
}
