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
/// ``install()`` blocks the three signals in the calling thread, which every thread started later inherits, and
/// starts one thread that waits for them with `sigwait`: the cleanup then runs as ordinary code (a lock, Swift
/// strings), not inside a signal handler, where neither is safe. Call it first thing in `main`, before any other
/// thread starts. Without it, ``create(_:mode:)`` only keeps a list.
public enum InterruptCleanup {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    private static let files = Locked<[String: Int]>([:])
    private static let installed = Locked(false)

    /// Starts the thread that handles the signals; later calls do nothing.
    public static func install() {
        let first = installed.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let thread = Thread {
            var set = signalSet()
            var received: Int32 = 0
            while sigwait(&set, &received) != 0 {}
            // The temporaries are removed, and the process ended, under the lock: a write that has not created its
            // temporary yet waits for the lock in ``create(_:mode:)`` and never does.
            files.withLock { registered in
                for path in registered.keys { unlink(path) }
                // The default action, in this thread: the process ends by the signal it was sent.
                signal(received, SIG_DFL)
                var only = sigset_t()
                sigemptyset(&only)
                sigaddset(&only, received)
                pthread_sigmask(SIG_UNBLOCK, &only, nil)
                raise(received)
            }
        }
        thread.name = "interrupt-cleanup"
        thread.start()
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

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }
}
