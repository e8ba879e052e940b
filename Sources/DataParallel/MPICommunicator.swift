#if canImport(CMPI)
import CMPI
import Foundation
import Kernels

/// The processes `mpirun` started, through Open MPI's C API (MPI_COMM_WORLD). Only the thread that made it calls
/// MPI (MPI_THREAD_FUNNELED); the kernels' threads never do.
///
/// An exchange posts nonblocking sends and receives and polls them, so that a peer that dies or stops answering
/// ends the wait after ``timeout`` seconds with the peers named, instead of blocking forever as MPI's blocking
/// calls would. Errors come back as codes (MPI_ERRORS_RETURN), not as MPI's own abort.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let timeout: Double
    public private(set) var bytesSent = 0
    private let world: MPI_Comm
    private var finished = false
    /// Messages larger than this are sent in pieces (MPI counts elements in an Int32).
    private static let pieceBytes = 1 << 30
    private static let tag: Int32 = 7

    /// Joins the job mpirun started.
    /// - Throws: ``CommunicationError/failed(rank:operation:message:)`` when MPI cannot start.
    public init(timeout: Double) throws(CommunicationError) {
        var provided: Int32 = 0
        var code = MPI_Init_thread(nil, nil, adamw_mpi_thread_funneled(), &provided)
        guard code == adamw_mpi_success() else { throw .failed(rank: -1, operation: "MPI_Init_thread", message: Self.text(code)) }
        world = adamw_mpi_comm_world()
        _ = adamw_mpi_return_errors()
        var rank: Int32 = 0, size: Int32 = 0
        code = MPI_Comm_rank(world, &rank)
        if code == adamw_mpi_success() { code = MPI_Comm_size(world, &size) }
        guard code == adamw_mpi_success() else { throw .failed(rank: -1, operation: "MPI_Comm_rank", message: Self.text(code)) }
        self.rank = Int(rank)
        self.size = Int(size)
        self.timeout = timeout
    }

    public func exchange(sending: [Outgoing], receiving: [Incoming], operation: String) throws(CommunicationError) {
        var requests: [MPI_Request?] = []
        var peers: [Int] = []
        requests.reserveCapacity(sending.count + receiving.count)
        // Receives first, so that a peer's sends find them posted; each message in pieces MPI's Int32 counts can hold.
        let transfers = receiving.map { (peer: $0.peer, base: $0.bytes.baseAddress, bytes: $0.bytes.count, sends: false) }
            + sending.map { (peer: $0.peer, base: UnsafeMutableRawPointer(mutating: $0.bytes.baseAddress), bytes: $0.bytes.count,
                             sends: true) }
        for transfer in transfers where transfer.bytes > 0 {
            precondition(transfer.peer != rank && (0..<size).contains(transfer.peer), "an exchange with an invalid peer")
            for offset in stride(from: 0, to: transfer.bytes, by: Self.pieceBytes) {
                let count = Int32(min(Self.pieceBytes, transfer.bytes - offset)), peer = Int32(transfer.peer)
                var request: MPI_Request? = adamw_mpi_request_null()
                let code = transfer.sends
                    ? MPI_Isend(transfer.base! + offset, count, adamw_mpi_byte(), peer, Self.tag, world, &request)
                    : MPI_Irecv(transfer.base! + offset, count, adamw_mpi_byte(), peer, Self.tag, world, &request)
                guard code == adamw_mpi_success() else {
                    throw .failed(rank: rank, operation: "\(operation) (\(transfer.sends ? "sending to" : "receiving from") "
                                  + "rank \(transfer.peer))", message: Self.text(code))
                }
                requests.append(request)
                peers.append(transfer.peer)
            }
            if transfer.sends { bytesSent += transfer.bytes }
        }
        try wait(&requests, peers: peers, operation: operation)
    }

    /// Polls until every request is done. Spins briefly (a collective between the cores of one machine takes
    /// microseconds), then yields, then sleeps in short naps: a rank waiting for a slower one, or sharing a core
    /// with it under --oversubscribe, should leave it the processor.
    private func wait(_ requests: inout [MPI_Request?], peers: [Int], operation: String) throws(CommunicationError) {
        var pending = requests.count
        guard pending > 0 else { return }
        var indices = [Int32](repeating: 0, count: requests.count)
        var lastProgress = monotonicSeconds()
        var polls = 0
        while pending > 0 {
            var done: Int32 = 0
            let code = MPI_Testsome(Int32(requests.count), &requests, &done, &indices, adamw_mpi_statuses_ignore())
            guard code == adamw_mpi_success() else {
                throw .failed(rank: rank, operation: operation, message: Self.text(code))
            }
            if done == MPI_UNDEFINED { break }
            if done > 0 {
                pending -= Int(done)
                polls = 0
                lastProgress = monotonicSeconds()
                continue
            }
            polls += 1
            if polls < 2_000 { continue }
            if polls < 4_000 { sched_yield(); continue }
            usleep(50)
            if polls % 64 == 0, monotonicSeconds() - lastProgress > timeout {
                let waiting = zip(requests, peers).compactMap { request, peer in request == adamw_mpi_request_null() ? nil : peer }
                throw .noAnswer(rank: rank, peers: Array(Set(waiting)).sorted(), operation: operation, seconds: timeout)
            }
        }
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }

    public func finish() {
        guard !finished else { return }
        finished = true
        MPI_Finalize()
    }

    private static func text(_ code: Int32) -> String {
        var characters = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        let length = adamw_mpi_error_text(code, &characters, Int32(characters.count))
        guard length >= 0 else { return "error \(code)" }
        return String(decoding: characters.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
#endif
