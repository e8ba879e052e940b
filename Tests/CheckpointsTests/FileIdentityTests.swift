import Checkpoints
import Foundation
import Testing

/// Two paths name the same file exactly when their identities are equal, however they are spelled.
struct FileIdentityTests {
    @Test func everySpellingOfAFileIsTheSameFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("identity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("data.txt").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data("text".utf8)))
        try FileManager.default.linkItem(atPath: file, toPath: folder.appendingPathComponent("hard.txt").path)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("via").path, withDestinationPath: folder.path)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("soft.txt").path, withDestinationPath: file)
        let copy = folder.appendingPathComponent("copy.txt").path
        try FileManager.default.copyItem(atPath: file, toPath: copy)
        let inputs = [(flag: "--data", path: file)]
        for spelling in [file, folder.path + "/./data.txt", folder.path + "/../" + folder.lastPathComponent + "/data.txt", folder.path + "/hard.txt",
                         folder.path + "/via/data.txt", folder.path + "/soft.txt"] {
            #expect(FileIdentity.input(among: inputs, sameAs: spelling)?.flag == "--data", "\(spelling)")
        }
        #expect(FileIdentity.input(among: inputs, sameAs: copy) == nil, "a copy is another file")
        #expect(FileIdentity.input(among: inputs, sameAs: folder.path + "/missing.txt") == nil)
        #expect(FileIdentity(path: "") == nil)
    }
}
