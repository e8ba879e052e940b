/// What an experiment reports after each epoch of each of its runs, from the thread that trained it: a short
/// description of the run (its optimizer and the values that set it apart) and the epoch's result.
public typealias EpochProgress = @Sendable (_ run: String, _ result: EpochResult) -> Void
