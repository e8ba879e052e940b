import DataParallel
import Foundation
import Kernels

/// What the processes of a data-parallel run must share besides their data: the recipe or options (any flag that
/// shapes the model, the optimizer or the schedule), how far they train, and the weights they start from (the
/// same seed, or the same checkpoint resumed). Processes given different values would exchange buffers of
/// different sizes, or train one model with several settings; compared first, they end the job naming the flag.
public enum RunAgreement {
    /// Throws on every rank unless every rank's `values` (a JSON object: a recipe, or the run's controls) are
    /// equal; the error names the differing keys as flags, with both values. `what` is plural ("recipes").
    public static func require(_ values: String, of what: String, on communicator: (any Communicator)?) throws {
        guard let communicator, communicator.size > 1 else { return }
        try communicator.requireSameText(values, of: what) { theirs, first in
            differences(theirs, first).map { "\(flag(of: $0.key)) \($0.theirs) against \($0.first) on rank 0" }
                .joined(separator: "; ")
        }
    }

    /// The keys (dotted for nested objects) whose values differ between two JSON objects, with both values.
    static func differences(_ theirs: String, _ first: String) -> [(key: String, theirs: String, first: String)] {
        func object(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }
        func flatten(_ object: [String: Any], prefix: String = "") -> [String: String] {
            var flat: [String: String] = [:]
            for (key, value) in object {
                if let nested = value as? [String: Any] {
                    flat.merge(flatten(nested, prefix: prefix + key + ".")) { $1 }
                } else {
                    flat[prefix + key] = "\(value)"
                }
            }
            return flat
        }
        let a = flatten(object(theirs)), b = flatten(object(first))
        return Set(a.keys).union(b.keys).sorted().compactMap { key in
            a[key] == b[key] ? nil : (key, a[key] ?? "none", b[key] ?? "none")
        }
    }

    /// The command-line flag of a recipe's or options' key: `batchSize` → `--batch-size`, an optimizer option
    /// (`optimizerOptions.weight_decay`) → `--weight-decay`.
    static func flag(of key: String) -> String {
        let renamed = ["decayIterations": "lrDecayIters", "tiedEmbedding": "noTie", "noDecayBiasNorm": "noDecayBiasNorm"]
        let last = String(key.split(separator: ".").last ?? "")
        let name = renamed[last] ?? last
        var flag = "--"
        for character in name {
            if character.isUppercase { flag += "-" + character.lowercased() } else { flag.append(character == "_" ? "-" : character) }
        }
        return flag
    }

    /// A fingerprint of `parameters`' values: equal on every rank that starts from the same weights.
    public static func weightsFingerprint(_ values: [FloatBuffer]) -> String {
        var a: UInt64 = 0, b: UInt64 = 0
        for buffer in values {
            for value in buffer {
                a = a &* 31 &+ UInt64(value.bitPattern)
                b = b &+ UInt64(value.bitPattern) &* 0x9E37_79B9
            }
        }
        return String(a, radix: 16) + String(b, radix: 16)
    }
}
