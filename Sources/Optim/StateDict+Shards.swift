/// An optimizer's state split over processes that each step some parameters (ZeRO-1's shards) and put together
/// again, so that a sharded run saves the one state a single process would and resumes on any number of processes.
extension StateDict {
    /// The one optimizer state of the shards' processes: every parameter's entries from the process that holds
    /// them, the shared entries (type, format, groups, skipped steps) from the first, and every quantization map any
    /// of them uses. Equal to the state of one process that stepped every parameter.
    /// - Throws: ``StateMismatch`` when the shared entries differ or two shards hold the same parameter's entry.
    public static func mergingOptimizerShards(_ shards: [StateDict]) throws(StateMismatch) -> StateDict {
        guard var merged = shards.first else { return StateDict() }
        var problems: [String] = []
        var maps = merged.metadata["quantization_maps"].flatMap { StateJSON.decode([String: StoredMap].self, from: $0) } ?? [:]
        for (index, shard) in shards.enumerated().dropFirst() {
            for (key, value) in shard.metadata {
                if key.hasPrefix("state.") {
                    if merged.metadata.updateValue(value, forKey: key) != nil {
                        problems.append("'\(key)' is in two shards")
                    }
                } else if key == "quantization_maps" {
                    guard let theirs = StateJSON.decode([String: StoredMap].self, from: value) else {
                        problems.append("shard \(index)'s quantization maps are unreadable")
                        continue
                    }
                    maps.merge(theirs) { ours, _ in ours }
                } else if merged.metadata[key] != value {
                    problems.append("shard \(index)'s '\(key)' differs from shard 0's")
                }
            }
            for key in merged.metadata.keys where !key.hasPrefix("state.") && key != "quantization_maps"
                && shard.metadata[key] == nil {
                problems.append("shard \(index) has no '\(key)'")
            }
            for (key, tensor) in shard.tensors where merged.tensors.updateValue(tensor, forKey: key) != nil {
                problems.append("'\(key)' is in two shards")
            }
        }
        guard problems.isEmpty else { throw StateMismatch("optimizer shards", problems: problems) }
        if !maps.isEmpty { merged.metadata["quantization_maps"] = (try? StateJSON.encode(maps)) ?? "{}" }
        return merged
    }

    /// This optimizer state with only the per-parameter entries of `kept` (every name in `names`, the
    /// optimizer's parameters, decides which entries are whose: the longest name a key starts with). What one
    /// process of a sharded run loads.
    public func optimizerShard(keeping kept: Set<String>, of names: [String]) -> StateDict {
        // Longest first, so that `h.0.weight` does not take the entries of a parameter named `h.0.weight.extra`.
        let prefixes = names.sorted { $0.count > $1.count }.map { ("state.\($0).", $0) }
        func owner(_ key: String) -> String? { prefixes.first { key.hasPrefix($0.0) }?.1 }
        var shard = self
        shard.tensors = tensors.filter { key, _ in owner(key).map(kept.contains) ?? true }
        shard.metadata = metadata.filter { key, _ in !key.hasPrefix("state.") || (owner(key).map(kept.contains) ?? true) }
        return shard
    }
}
