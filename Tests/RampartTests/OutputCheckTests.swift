import RampartHTTP
import Testing
@testable import RampartProxy
@testable import Rampart

/// SPEC §11.13: generated content held to a schema before it is saved, whole or its first fenced
/// JSON block, with the field paths a 400 would name.
@Suite struct OutputCheckTests {
    static let schema = try! JSONValue.parse(Array(#"""
        {"type": "object", "required": ["price", "qty"],
         "properties": {"price": {"type": "number", "minimum": 0.01}, "qty": {"type": "integer", "minimum": 1}}}
        """#.utf8))

    @Test func theFirstJSONFenceIsFound() {
        let text = "Here:\n```python\nprint(1)\n```\nand\n```json\n{\"price\": 5}\n```\n```json\n{\"price\": 6}\n```\n"
        #expect(FencedJSON.first(text) == "{\"price\": 5}\n")
        #expect(FencedJSON.first("~~~~ JSON\n[1]\n~~~~") == "[1]\n", "tildes, longer fences, any case")
        #expect(FencedJSON.first("```\n{}\n```") == "{}\n", "an untagged fence when there is no json one")
        #expect(FencedJSON.first("```json\n{\"a\": 1}") == "{\"a\": 1}", "an unclosed block runs to the end")
        #expect(FencedJSON.first("no fence at all") == nil)
        #expect(FencedJSON.first("```json\r\n{\"price\": 1}\r\n```\r\n") == "{\"price\": 1}\r\n", "CRLF lines, as models and Windows editors write them")
        #expect(FencedJSON.first("```python\nx\n```") == nil, "a fence for another language is not JSON")
        #expect(FencedJSON.first("    ```json\n{}\n    ```") == nil, "indented four spaces: code, not a fence")
    }

    @Test func failuresNameTheFieldsLikeA400() {
        let check = OutputCheck(StreamSaveConfig.OutputValidation(schema: Self.schema, extract: .fencedJSON))
        #expect(check.failures("Sure!\n```json\n{\"price\": 12.5, \"qty\": 2}\n```") == nil)
        let bad = check.failures("```json\n{\"price\": -3}\n```") ?? []
        #expect(bad.map(\.field).sorted() == ["price", "qty"], "\(bad)")
        #expect(check.failures("I cannot help with that.") == [ValidationDetail(field: "", message: "The output has no fenced JSON block")])
        let whole = OutputCheck(StreamSaveConfig.OutputValidation(schema: Self.schema))
        #expect(whole.failures("{\"price\": 1, \"qty\": 1}") == nil)
        #expect(whole.failures("Hello") == [ValidationDetail(field: "", message: "The output must be valid JSON")])
    }

    @Test func theConfigKeysDecodeAndBadOnesFailWithTheirPath() throws {
        let route = #""routes": [{"name": "r", "match": {"path": "/x"}, "format": "anthropic", "stream_save": {"save": {"url": "/s"}, "validate": "#
        let config = try ConfigFixture.load(ConfigFixture.app(route + #"{"schema": {"type": "object"}, "extract": "fenced_json"}}}]"#))
        #expect(config.routes[0].streamSave?.validate?.extract == .fencedJSON)
        let errors = ConfigFixture.errors(ConfigFixture.app(route + #"{"schema": {"type": "object"}, "extract": "yaml"}}}]"#))
        #expect(errors.contains { $0.contains("routes[0].stream_save.validate.extract") }, "\(errors)")
        let noSchema = ConfigFixture.errors(ConfigFixture.app(route + #"{"extract": "whole"}}}]"#))
        #expect(noSchema.contains { $0.contains("routes[0].stream_save.validate.schema") }, "\(noSchema)")
    }

    @Test func onlyAMessageShapedJSONAnswerHasContentToSave() {
        let message = Array(#"{"type":"message","content":[{"type":"text","text":"Hi"}]}"#.utf8)
        #expect(StreamSaveTap.content(ofJSON: message, format: .anthropic) == "Hi")
        #expect(StreamSaveTap.content(ofJSON: Array(#"{"input_tokens":12}"#.utf8), format: .anthropic) == nil, "a token count saves nothing")
        #expect(StreamSaveTap.content(ofJSON: Array(#"{"data":[{"id":"m"}]}"#.utf8), format: .openai) == nil, "a model list saves nothing")
        #expect(StreamSaveTap.content(ofJSON: Array(#"{"choices":[{"message":{"content":"Yo"}}]}"#.utf8), format: .openai) == "Yo")
    }
}
