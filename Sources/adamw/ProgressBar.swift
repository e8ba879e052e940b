#if canImport(Glibc)
import CommandSupport
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Kernels

/// A one-line progress bar on standard error — units done, rate, ETA and a detail such as the running loss —
/// redrawn at most ten times a second. It draws nothing when standard error is not a terminal or when disabled.
struct ProgressBar {
    let total: Int
    let label: String
    let unit: String
    let enabled: Bool
    private let start = monotonicSeconds()
    private var lastDraw = -1.0

    init(total: Int, label: String, unit: String = "batch", enabled: Bool) {
        self.total = total
        self.label = label
        self.unit = unit
        self.enabled = enabled && Self.standardErrorIsATerminal
    }

    static var standardErrorIsATerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// The width of the terminal on standard error, read at each redraw (it may be resized); 80 when unknown.
    static var terminalColumns: Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    mutating func update(done: Int, detail: String = "") {
        guard enabled else { return }
        let now = monotonicSeconds()
        guard now - lastDraw >= 0.1 || done == total else { return }
        lastDraw = now
        let elapsed = now - start
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30
        let filled = total > 0 ? width * min(done, total) / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let shownRate = rate >= 10 ? format(rate, 0) : format(rate, 2)
        let line = "\(label) \(bar) \(done)/\(total)  \(shownRate) \(unit)/s  ETA \(format(eta, 1))s"
            + (detail.isEmpty ? "" : "  \(detail)")
        // Cut to the terminal's width (one column spare): a line that wraps cannot be redrawn in place.
        writeStandardError("\r\u{1B}[2K" + String(line.prefix(max(Self.terminalColumns - 1, 1))))
    }

    /// Erases the bar.
    func finish() {
        guard enabled else { return }
        writeStandardError("\r\u{1B}[2K")
    }
}

func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
}
