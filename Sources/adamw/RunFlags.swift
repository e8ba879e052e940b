import ArgumentParser
import CommandSupport
import Foundation
import Experiments
import DataParallel
import Checkpoints
import Optim
import Training

/// What `adamw train` and `adamw gpt` share about a run's flags: which of a run's options the command line gave
/// (refused with --resume), reading and writing a checkpoint, the one optimizer option a resume may change, and
/// the files a run writes.
enum RunFlags {
    /// The options a command's properties gave, as (flag, property name), leaving out `runControls` (flags that
    /// are not part of the run: how long, where it reads and writes). The optimizer flags count by PyTorch's
    /// names; with `resuming`, those a resume may change (``OptimizerFlags/resumable``) do not count.
    static func given(in command: Any, runControls: Set<String>, resuming: Bool) -> [(flag: String, property: String)] {
        var given: [(String, String)] = []
        for child in Mirror(reflecting: command).children {
            guard let label = child.label?.drop(while: { $0 == "_" }), !runControls.contains(String(label)) else { continue }
            if let flags = child.value as? OptionGroup<OptimizerFlags> {
                given += flags.wrappedValue.given.keys.sorted()
                    .filter { !resuming || !OptimizerFlags.resumable.contains($0) }
                    .map { (OptimizerFlags.flag($0), $0) }
            } else if (child.value as? GivenValue)?.isGiven == true {
                given.append((TrainCommand.flag(ofProperty: String(label)), String(label)))
            }
        }
        return given
    }

    /// The checkpoint at `path`, given as `flag`; a refusal names the flag and the path once.
    static func readCheckpoint(_ path: String, flag: String) throws -> StateDict {
        do {
            return try CheckpointFile.read(path)
        } catch {
            // An I/O error names the path itself; a decoding error does not.
            if case .io = error { throw Refusal("\(flag) \(error)") }
            throw Refusal("\(flag) \(path): \(error)")
        }
    }

    /// A resume's `--states`: how the optimizer stores its state is not part of the run, so it may change (the
    /// state is converted on loading). Refused for an optimizer without the option.
    static func resumedStates(_ states: StateStorage?, into optimizer: inout OptimizerChoice) throws {
        guard let states else { return }
        guard let option = optimizer.kind.storageOption else {
            let having = OptimizerKind.allCases.filter { $0.storageOption != nil }.map(\.rawValue)
            throw Refusal("--states applies only to --optimizer \(having.joined(separator: " or ")); the checkpoint's is \(optimizer.kind.rawValue)")
        }
        do {
            optimizer = try optimizer.setting(option.name, to: states.rawValue)
        } catch {
            throw OptimizerFlags.validationError(error)
        }
    }

    /// Checks the files a run writes before it starts: the checkpoint (`--save`, or the resumed file) and the
    /// metrics. Neither may be one of `inputs` (flag, path: the data; for the metrics, the checkpoint resumed from),
    /// by identity, so no spelling, hard link or symbolic link overwrites what the run reads; the
    /// checkpoint's folder must take a new file (a read-only file system, a name too long for a temporary), and
    /// temporaries that an earlier run left there when it was killed are removed (by the process that `writes`:
    /// the others of a data-parallel run may be on machines that do not see its processes). Returns where
    /// checkpoints go.
    static func checkOutputs(save: String?, resume: String?, metricsOut: String?,
                             inputs: [(flag: String, path: String)], writes: Bool) throws -> String? {
        let savePath = save ?? resume
        var outputs: [(flag: String, path: String)] = []
        if let savePath { outputs.append((save != nil ? "--save" : "--resume", savePath)) }
        if let metricsOut { outputs.append(("--metrics-out", metricsOut)) }
        // The checkpoint resumed from is an input of the metrics; the checkpoint itself may be saved over it (with
        // --save naming it or not), which is how a resumed run goes on.
        for output in outputs {
            let protected = inputs + (output.flag == "--metrics-out" ? resume.map { [("--resume", $0)] } ?? [] : [])
            try OutputFile.check(output.path, flag: output.flag, inputs: protected)
        }
        try OutputFile.checkDistinct(outputs)
        if let savePath, writes {
            do {
                try AtomicFile.checkWritable(savePath)
            } catch {
                throw Refusal("\(save != nil ? "--save" : "--resume") \(savePath): \(error)")
            }
            AtomicFile.removeStaleTemporaries(of: savePath)
        }
        return savePath
    }

    /// Under mpirun, throws on every rank unless all ranks run alike: how far they train (`controls`: flag and
    /// value, such as ("--iters", 2000)), whether they save, and the state they start from (the iteration and the
    /// weights, so that a fresh run and a resume, or two different checkpoints, are told apart). Call it after a
    /// resume is loaded and before the first step.
    static func requireAgreement(_ controls: [(flag: String, value: Any)], iteration: Int, weights: [Parameter],
                                 save: String?, metricsOut: String?, communicator: (any Communicator)?) throws {
        guard let communicator, communicator.size > 1 else { return }
        var values: [String: Any] = ["save": save != nil ? "given" : "not given",
                                     "metricsOut": metricsOut != nil ? "given" : "not given",
                                     "resume": "iteration \(iteration), weights \(RunAgreement.weightsFingerprint(weights.map(\.values)))"]
        for (flag, value) in controls { values[String(flag.dropFirst(2))] = value }
        let data = try JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])
        try RunAgreement.require(String(decoding: data, as: UTF8.self), of: "run flags", on: communicator)
    }

    /// The refusal of a run whose loss stopped being finite `at` ("iteration 7"), saying which checkpoint holds
    /// the last finite state (`saved`, nil: none was written).
    static func diverged(at point: String, loss: Double, checkpoint: String?, saved: String?) -> Refusal {
        let kept = switch (checkpoint, saved) {
        case (let path?, let saved?): "; \(path) keeps \(saved), the last with a finite loss"
        case (_?, nil): "; no checkpoint was written"
        case (nil, _): ""
        }
        return Refusal("the run diverged at \(point): the loss is \(loss.isNaN ? "NaN" : "\(loss)")\(kept) (lower --lr, or --clip-norm)")
    }

    /// Writes `state` to the run's checkpoint (atomically), where this process is the one that writes (rank 0,
    /// or a run on its own); every rank must still have built `state`, as gathering it takes them all.
    static func saveCheckpoint(_ state: StateDict, to path: String, writes: Bool) throws {
        do {
            if writes { try CheckpointFile.write(state, to: path) }
        } catch {
            throw Refusal("cannot save the checkpoint: \(error)")
        }
    }
}
