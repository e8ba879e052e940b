import Foundation

/// How this process was started: on its own, or as one of the ranks of an `mpirun` job, and the
/// ``Communicator`` that joins the job.
public enum ProcessLaunch {
    /// Whether this build can join an MPI job (it was built with Open MPI's headers).
    public static var mpiIsBuiltIn: Bool {
        #if canImport(CMPI)
        true
        #else
        false
        #endif
    }

    /// The number of processes of the MPI job that started this one, from the variables its launcher sets
    /// (Open MPI's mpirun, or a PMI/PMIx launcher such as srun); nil when it was started on its own.
    public static var launchedRanks: Int? {
        let environment = ProcessInfo.processInfo.environment
        for name in ["OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"] {
            if let value = environment[name].flatMap({ Int($0) }), value >= 1 { return value }
        }
        return nil
    }

    /// How many of the job's processes run on this machine (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE), 1 when unknown.
    public static var localRanks: Int {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }.map { max($0, 1) } ?? 1
    }

    /// The job's communicator when mpirun started this process, nil when it was started on its own.
    /// - Throws: ``CommunicationError/notBuiltWithMPI(ranks:)`` when mpirun started it but the build has no MPI
    ///   (N copies of one run would each write the same files), or MPI's error when it cannot start.
    public static func communicator(timeout: Double) throws(CommunicationError) -> (any Communicator)? {
        guard let ranks = launchedRanks else { return nil }
        #if canImport(CMPI)
        return try MPICommunicator(timeout: timeout)
        #else
        if ranks == 1 { return nil }  // `mpirun -np 1` is a run on its own
        throw .notBuiltWithMPI(ranks: ranks)
        #endif
    }
}
