/// A fixed group of processes that exchange bytes, numbered 0..<``size``: what data-parallel training needs of MPI.
///
/// One primitive, ``exchange(sending:receiving:operation:)``, posts a set of sends and receives at once and waits
/// for all of them, for at most ``timeout`` seconds a peer leaves it waiting; every collective of this module is
/// built from it (see `Communicator+Collectives.swift`). They move bytes and never add them, so their results do
/// not depend on how the messages travel: the sums of the sharded step are taken by the receiving process, in rank
/// order.
public protocol Communicator: AnyObject {
    /// This process's number.
    var rank: Int { get }
    /// How many processes there are.
    var size: Int { get }
    /// Seconds an exchange waits for a peer that sends or takes nothing before it fails.
    var timeout: Double { get }
    /// Bytes this process has sent to others.
    var bytesSent: Int { get }

    /// Sends and receives everything at once and returns when all is done.
    /// - Throws: ``CommunicationError/noAnswer(rank:peers:operation:seconds:)`` naming the peers still owing
    ///   data after ``timeout`` seconds without progress, ``CommunicationError/failed(rank:operation:message:)``.
    func exchange(sending: [Outgoing], receiving: [Incoming], operation: String) throws(CommunicationError)

    /// Ends every process of the group with `code` (the others are killed), after this process's message.
    func abort(code: Int32) -> Never

    /// Leaves the group at the end of a run (every process calls it).
    func finish()
}

/// Bytes for one peer.
public struct Outgoing {
    public let peer: Int
    public let bytes: UnsafeRawBufferPointer

    public init(peer: Int, bytes: UnsafeRawBufferPointer) {
        self.peer = peer
        self.bytes = bytes
    }
}

/// Room for the bytes one peer sends, exactly as many as it sends.
public struct Incoming {
    public let peer: Int
    public let bytes: UnsafeMutableRawBufferPointer

    public init(peer: Int, bytes: UnsafeMutableRawBufferPointer) {
        self.peer = peer
        self.bytes = bytes
    }
}
