import Foundation
import Testing
@testable import RampartProxy

/// The HTML sanitizer against public XSS corpora (Tests/Fixtures/xss-corpus.jsonl: DOMPurify's test
/// vectors, Apache-2.0/MPL-2.0, and the OWASP XSS Filter Evasion Cheat Sheet, CC BY-SA 4.0): nothing
/// executable survives, checked on the DOM of the output parsed again, and a page of every output
/// raises no alert in headless chromium.
@Suite struct XSSCorpusTests {
    struct Vector { var source: String; var title: String; var payload: String }

    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    static let corpus: [Vector] = {
        let text = (try? String(contentsOf: testsDir.appendingPathComponent("Fixtures/xss-corpus.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                  let payload = o["payload"] else { return nil }
            return Vector(source: o["source"] ?? "", title: o["title"] ?? "", payload: payload)
        }
    }()

    @Test func theCorpusIsThere() {
        #expect(Self.corpus.filter { $0.source == "dompurify" }.count >= 200, "DOMPurify's vectors")
        #expect(Self.corpus.filter { $0.source == "owasp" }.count >= 100, "OWASP's cases")
    }

    @Test func nothingExecutableSurvives() {
        for vector in Self.corpus {
            let output = HTMLSanitizer.sanitize(vector.payload).html
            let violations = HTMLSafetyCheck.violations(output)
            #expect(violations.isEmpty, "\(vector.source) \(vector.title): \(vector.payload) -> \(output): \(violations)")
            // Only allow-listed elements and attributes, and the output is a fixed point.
            for element in HTMLSanitizer.inventory(output) where !HTMLAllowList.structural.contains(element.name) {
                let allowed = HTMLAllowList.elements[element.name]
                #expect(allowed != nil, "\(vector.title): <\(element.name)> in \(output)")
                for attribute in element.attributes {
                    #expect(HTMLAllowList.globalAttributes.contains(attribute.name) || allowed?.contains(attribute.name) == true,
                            "\(vector.title): \(element.name) \(attribute.name) in \(output)")
                }
            }
            #expect(HTMLSanitizer.sanitize(output) == HTMLSanitizer.Result(html: output, removed: 0), "\(vector.title): \(output)")
            // Text is escaped, so a raw `<` in the output only ever opens an allow-listed tag.
            for word in ["<script", "<iframe", "<object", "<embed", "<style", "<form", "<svg", "<math", "<!--", "<meta", "<base", "<link"] {
                #expect(!output.lowercased().contains(word), "\(vector.title): \(word) in \(output)")
            }
        }
    }

    /// The oracle itself sees the raw vectors as dangerous (else the assertion above proves nothing).
    @Test func theOracleCatchesRawVectors() {
        let caught = Self.corpus.filter { !HTMLSafetyCheck.violations($0.payload).isEmpty }.count
        #expect(caught > Self.corpus.count / 2, "\(caught) of \(Self.corpus.count)")
        #expect(!HTMLSafetyCheck.violations("<a href=\"java\tscript:alert(1)\">x</a>").isEmpty)
        #expect(!HTMLSafetyCheck.violations("<img src=x onerror=alert(1)>").isEmpty)
    }

    /// One page with every sanitized output in its own div, loaded in headless chromium with
    /// alert/confirm/prompt hooked and the handlers a user could trigger fired; a page with raw
    /// vectors first proves the harness sees an alert when one happens.
    @Test func aBrowserRaisesNoAlert() throws {
        let python = Self.testsDir.deletingLastPathComponent().appendingPathComponent(".venv/bin/python3").path
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", python] where !FileManager.default.isExecutableFile(atPath: tool) {
            Issue.record("\(tool) is missing: `make test` installs chromium and chromium-driver with apt and selenium into .venv")
            return
        }
        let dir = NSTemporaryDirectory() + "rampart-xss-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func page(_ parts: [String]) -> String {
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>saved</title></head><body>\n"
                + parts.enumerated().map { "<div id=\"v\($0.offset)\">\($0.element)</div>\n" }.joined() + "</body></html>\n"
        }
        let sanitized = Self.corpus.map { HTMLSanitizer.sanitize($0.payload).html }
        try page(sanitized).write(toFile: dir + "/sanitized.html", atomically: true, encoding: .utf8)
        try page(["<img src=x onerror=alert(1)>", "<IMG SRC=# onmouseover=\"alert('xxs')\">"]).write(toFile: dir + "/raw.html", atomically: true, encoding: .utf8)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [Self.testsDir.appendingPathComponent("Fixtures/xss_browser_check.py").path, dir + "/raw.html", dir + "/sanitized.html"]
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        let reports = text.split(separator: "\n").filter { $0.hasPrefix("{") }
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let raw = reports.first { ($0["page"] as? String)?.hasSuffix("raw.html") == true }
        let clean = reports.first { ($0["page"] as? String)?.hasSuffix("sanitized.html") == true }
        #expect((raw?["fired"] as? Int ?? 0) >= 2, "the harness sees raw vectors fire: \(text)")
        #expect(clean?["fired"] as? Int == 0, "no alert from the sanitized corpus: \(text)")
        #expect((clean?["bad_urls"] as? [Any])?.isEmpty == true, "\(text)")
        #expect(clean?["divs"] as? Int == Self.corpus.count, "every output was on the page: \(text)")
    }
}
