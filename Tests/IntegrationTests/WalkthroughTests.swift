import Foundation
import Testing

/// The README's walkthrough, run as written: the `sh` block is cut out of README.md, each command
/// runs in one bash session as a second terminal would (in a folder holding `var/rampart/admin-token`
/// as `make run` leaves it, no RAMPART_ADMIN_TOKEN in the environment), against the demo app and
/// the shipped gateway.json. Every `# -> ` line under a command must match its output (`…` and
/// `...` stand for any text), and the hung upstream answers after the 30 s the README states.
@Suite(.serialized) struct WalkthroughTests {
    struct Step { var command: String; var expected: [String] = [] }

    static func steps() throws -> [Step] {
        let readme = try String(contentsOfFile: Binaries.repoRoot + "/README.md", encoding: .utf8)
        guard let section = readme.range(of: "## Walkthrough against the demo app"),
              let open = readme.range(of: "```sh\n", range: section.upperBound..<readme.endIndex),
              let close = readme.range(of: "\n```", range: open.upperBound..<readme.endIndex) else {
            throw TestFailure("no sh block under the walkthrough heading")
        }
        var steps: [Step] = []
        var pending = ""
        for line in readme[open.upperBound..<close.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# -> ") { steps[steps.count - 1].expected.append(String(line.dropFirst(5))); continue }
            if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if line.hasSuffix("\\") { pending += line.dropLast() + " "; continue }
            steps.append(Step(command: pending + line))
            pending = ""
        }
        return steps
    }

    @Test func walkthroughWorksAsWrittenFromASecondTerminal() throws {
        let steps = try Self.steps()
        #expect(steps.count >= 15)
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-walkthrough-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/var/rampart", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "walkthrough-\(UUID().uuidString)\n".write(toFile: dir + "/var/rampart/admin-token", atomically: true, encoding: .utf8)
        let shipped = try String(contentsOfFile: Binaries.repoRoot + "/gateway.json", encoding: .utf8)
        let config = shipped.replacingOccurrences(of: "0.0.0.0:8080", with: "127.0.0.1:0")
            .replacingOccurrences(of: "127.0.0.1:9901", with: "127.0.0.1:0").replacingOccurrences(of: "127.0.0.1:9902", with: "127.0.0.1:0")
            .replacingOccurrences(of: "http://127.0.0.1:3000", with: app.url)
        try config.write(toFile: dir + "/gateway.json", atomically: true, encoding: .utf8)
        let rampart = try ChildProcess(Binaries.rampart, ["serve", "--config", dir + "/gateway.json"], environment: ["RAMPART_ADMIN_TOKEN": ""], cwd: dir)
        defer { rampart.stop() }
        let line = try rampart.waitForLine(containing: "rampart listening")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        func port(_ key: String) throws -> String { try #require((obj[key] as? String)?.split(separator: ":").last.map(String.init)) }
        let ports = ["127.0.0.1:8080": try port("listen"), "127.0.0.1:9901": try port("admin"), "127.0.0.1:9902": try port("metrics"),
                     "127.0.0.1:3000": String(app.port)]

        var script = "cd \(dir)\nunset RAMPART_ADMIN_TOKEN\n"
        for (i, step) in steps.enumerated() {
            var command = step.command
            for (from, to) in ports { command = command.replacingOccurrences(of: from, with: "127.0.0.1:" + to) }
            script += "echo '@@start \(i)'; date +%s.%N\n\(command)\necho; echo \"@@end \(i) $?\"; date +%s.%N\n"
        }
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.arguments = ["-c", script]
        let out = Pipe()
        bash.standardOutput = out; bash.standardError = out
        try bash.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bash.waitUntilExit()

        #expect(!text.contains("UNAUTHENTICATED") && !text.contains("FORBIDDEN"), "an admin command was refused:\n\(text)")
        for (i, step) in steps.enumerated() {
            guard let start = text.range(of: "@@start \(i)\n"), let end = text.range(of: "@@end \(i) ", range: start.upperBound..<text.endIndex) else {
                Issue.record("step \(i) did not run: \(step.command)\n\(text.suffix(2000))"); continue
            }
            let output = String(text[start.upperBound..<end.lowerBound])
            for expected in step.expected { #expect(Self.matches(output, expected), "`\(step.command)` printed:\n\(output)\nexpected: \(expected)") }
            if step.command.contains("/slow?ms=40000") {
                let lines = output.split(separator: "\n")
                let after = text[end.upperBound...].split(separator: "\n").dropFirst().first
                if let t0 = lines.first.flatMap({ Double($0) }), let t1 = after.flatMap({ Double($0) }) {
                    #expect(t1 - t0 > 28 && t1 - t0 < 45, "the README says 504 after 30 s; it took \(t1 - t0) s")
                }
            }
        }
    }

    /// `expected` with `…`/`...` as wildcards: every literal piece appears in `output`, in order.
    static func matches(_ output: String, _ expected: String) -> Bool {
        var rest = Substring(output)
        let pieces = expected.replacingOccurrences(of: "...", with: "…").components(separatedBy: "…")
        for piece in pieces.map({ $0.trimmingCharacters(in: .whitespaces) }) where !piece.isEmpty {
            let literal = piece.components(separatedBy: "   (").first!   // a trailing "(explanation)" is prose
            guard let r = rest.range(of: literal) else { return false }
            rest = rest[r.upperBound...]
        }
        return true
    }
}
