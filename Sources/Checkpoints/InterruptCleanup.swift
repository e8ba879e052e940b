#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Kernels

/// Removes the temporary files of writes under way when SIGINT, SIGTERM or SIGHUP ends the process, then lets
/// the signal end it as it would have (the same exit status a shell sees).
///
/// ``install()`` sets a handler for the three signals that only writes the signal's number to a pipe (all a
/// handler may safely do), and starts one thread that reads it: the cleanup then runs as ordinary code (a lock,
/// Swift strings), not inside the handler. No signal is blocked, so programs this one starts get the default
/// actions and mask (an exec resets handlers). Without ``install()``, ``create(_:mode:)`` only keeps a list.
public enum InterruptCleanup {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    private static let files = Locked<[String: Int]>([:])
    private static let installed = Locked(false)

    /// Sets the handlers and starts the thread that cleans up; later calls do nothing. Call it first thing in
    /// `main`, before other threads start.
    public static func install() {
        let first = installed.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        // A parent may have started this process with the signals blocked (a mask is inherited): unblocked here,
        // first thing in the process, so that every thread started later (the cleanup's too) takes them.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for number in signals { sigaddset(&unblock, number) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        interruptPipe = ends[1]
        let reader = ends[0]
        let thread = Thread {
            var received: UInt8 = 0
            while read(reader, &received, 1) != 1 {}
            let number = Int32(received)
            // The temporaries are removed, and the process ended, under the lock: a write that has not created its
            // temporary yet waits for the lock in ``create(_:mode:)`` and never does.
            files.withLock { registered in
                for path in registered.keys { unlink(path) }
                // The default action: the process ends by the signal it was sent (sent to the process, not to
                // this thread, so that any thread that does not block it takes it).
                signal(number, SIG_DFL)
                kill(getpid(), number)
                while true { pause() }
            }
        }
        thread.name = "interrupt-cleanup"
        thread.start()
        for number in signals {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = interruptHandler
            #else
            action.__sigaction_u.__sa_handler = interruptHandler
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
    }

    /// Creates the file `path` (which must not exist) for writing and marks it as one to remove if the process
    /// is interrupted, in one step that an interrupt cannot split. Returns the descriptor, or -1 with `errno` set.
    public static func create(_ path: String, mode: mode_t = 0o644) -> Int32 {
        files.withLock { registered in
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            if descriptor >= 0 { registered[path, default: 0] += 1 }
            return descriptor
        }
    }

    /// `path` is no longer to be removed (it was renamed into place, or removed).
    public static func unregister(_ path: String) {
        files.withLock { registered in
            guard let count = registered[path] else { return }
            registered[path] = count > 1 ? count - 1 : nil
        }
    }

    /// The files registered now (for tests).
    public static var registered: [String] { files.withLock { Array($0.keys) } }
}

/// The pipe's writing end, set once before the handlers are installed.
nonisolated(unsafe) private var interruptPipe: Int32 = -1

/// Writes the signal's number to the pipe: a write(2) is all a handler does.
private func interruptHandler(_ number: Int32) {
    let saved = errno  // the interrupted code may be about to read it
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(interruptPipe, &byte, 1)
    errno = saved
}
