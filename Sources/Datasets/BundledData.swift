import Foundation

/// Where the data the repository ships (`Data/…`) is found.
enum BundledData {
    /// `ADAMW_DATA_DIR`'s `overridden` path when that variable is set; else `relative` (such as `Data/gpt2`) at the
    /// root of this package's source tree when it exists there, else under the current directory.
    static func path(_ relative: String, overridden: (String) -> String) -> String {
        if let override = ProcessInfo.processInfo.environment["ADAMW_DATA_DIR"], !override.isEmpty {
            return overridden(override)
        }
        let sourceRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(relative).path
        return FileManager.default.fileExists(atPath: sourceRoot) ? sourceRoot : relative
    }
}
