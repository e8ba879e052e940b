/// The command line's one error of its own: a refusal or failure reported on one line with exit status 1 (a
/// refused checkpoint, a failed save, data that cannot be read). A bad flag is ArgumentParser's `ValidationError`
/// instead (status 64).
public struct Refusal: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
