import Foundation

/// A fake LLM provider (`Tests/Fixtures/fake_provider.py`) on an ephemeral port: the Anthropic and
/// OpenAI wire formats, with faults picked per request by the model name (`no-terminal`, `cut`,
/// `status-529`, `status-429-retry-3600`, `trace-500`). The AI-route tests put it behind Rampart
/// and drive it with the official SDKs.
final class FakeProvider: @unchecked Sendable {
    let child: ChildProcess
    let port: UInt16

    init() throws {
        let python = Binaries.repoRoot + "/.venv/bin/python3"
        child = try ChildProcess(python, [Binaries.repoRoot + "/Tests/Fixtures/fake_provider.py"])
        let line = try child.waitForLine(containing: "listening")
        guard let p = line.split(separator: " ").last.flatMap({ UInt16($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw TestFailure("cannot parse the fake provider's port from \(line)")
        }
        port = p
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// What reached the provider: how many calls, each body and its headers (names lower-cased).
    func calls() throws -> (count: Int, bodies: [[String: Any]], headers: [[String: String]]) {
        let r = try HTTPClient.request(port: port, method: "GET", path: "/_calls")
        let json = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any] ?? [:]
        return (json["count"] as? Int ?? -1, json["bodies"] as? [[String: Any]] ?? [], json["headers"] as? [[String: String]] ?? [])
    }

    func reset() throws { _ = try HTTPClient.request(port: port, method: "POST", path: "/_reset") }
}

/// The JSON value a test's Python script printed on the line `<tag> <json>`.
func printedJSON(_ tag: String, in output: String) -> Any? {
    output.split(separator: "\n").first { $0.hasPrefix(tag + " ") }
        .flatMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(tag.count + 1).utf8), options: .fragmentsAllowed) }
}

extension DemoApp {
    /// What the app stores for a chapter (its save endpoint's record), nil when nothing is saved.
    func savedContent(_ chapter: String) -> String? {
        (try? HTTPClient.request(port: port, path: "/api/chapters/\(chapter)/content"))?.json["content"] as? String
    }
}
