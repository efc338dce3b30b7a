import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Usage read off responses as they stream past, however the socket split them.
@Suite struct UsageTapTests {
    @Test func anthropicStreamWhole() {
        #expect(UsageFixture.tap(UsageFixture.anthropicSSE, contentType: "text/event-stream") == UsageFixture.anthropicUsage)
    }

    @Test func anthropicStreamOneByteAtATimeGivesTheSameUsage() {
        let whole = UsageFixture.tap(UsageFixture.anthropicSSE, contentType: "text/event-stream")
        let bytewise = UsageFixture.tap(UsageFixture.anthropicSSE, contentType: "text/event-stream", chunk: 1)
        #expect(bytewise == whole)
        #expect(bytewise == UsageFixture.anthropicUsage)
    }

    @Test(arguments: [2, 3, 7, 64, 1000])
    func anthropicStreamInOddChunks(chunk: Int) {
        #expect(UsageFixture.tap(UsageFixture.anthropicSSE, contentType: "text/event-stream", chunk: chunk)
                == UsageFixture.anthropicUsage)
    }

    @Test func openAIStreamFinalUsageChunkAndDone() {
        let ct = "text/event-stream; charset=utf-8"
        #expect(UsageFixture.tap(UsageFixture.openAISSE, contentType: ct) == UsageFixture.openAIUsage)
        #expect(UsageFixture.tap(UsageFixture.openAISSE, contentType: ct, chunk: 1) == UsageFixture.openAIUsage)
    }

    @Test func crlfAndCRLineEndings() {
        let crlf = UsageFixture.anthropicSSE.replacingAll("\n", with: "\r\n")
        let cr = UsageFixture.openAISSE.replacingAll("\n", with: "\r")
        #expect(UsageFixture.tap(crlf, contentType: "text/event-stream", chunk: 1) == UsageFixture.anthropicUsage)
        #expect(UsageFixture.tap(crlf, contentType: "text/event-stream") == UsageFixture.anthropicUsage)
        #expect(UsageFixture.tap(cr, contentType: "text/event-stream", chunk: 1) == UsageFixture.openAIUsage)
    }

    @Test func finalEventWithoutBlankLineStillCounts() {
        let body = #"data: {"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"# + "\n"
        #expect(UsageFixture.tap(body, contentType: "text/event-stream")
                == TokenUsage(model: "gpt-4o", inputTokens: 3, outputTokens: 2))
    }

    @Test func anthropicJSONBody() {
        let usage = UsageFixture.tap(UsageFixture.anthropicJSON, contentType: "application/json", chunk: 5)
        #expect(usage == TokenUsage(model: "claude-haiku-4-5", inputTokens: 12, outputTokens: 3, cacheReadTokens: 40))
    }

    @Test func openAIJSONBody() {
        let usage = UsageFixture.tap(UsageFixture.openAIJSON, contentType: "Application/JSON; charset=utf-8")
        #expect(usage == TokenUsage(model: "gpt-4o-mini", inputTokens: 30, outputTokens: 5))
    }

    @Test func openAIResponsesAPICompletedEvent() {
        let body = """
        event: response.completed
        data: {"type":"response.completed","response":{"id":"r1","model":"gpt-4.1","usage":{"input_tokens":500,"input_tokens_details":{"cached_tokens":200},"output_tokens":9,"total_tokens":509}}}


        """
        #expect(UsageFixture.tap(body, contentType: "text/event-stream")
                == TokenUsage(model: "gpt-4.1", inputTokens: 300, outputTokens: 9, cacheReadTokens: 200))
    }

    @Test func noUsageGivesNil() {
        let sse = "data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\ndata: [DONE]\n\n"
        #expect(UsageFixture.tap(sse, contentType: "text/event-stream") == nil)
        #expect(UsageFixture.tap(#"{"model":"m","result":"no usage here"}"#, contentType: "application/json") == nil)
        #expect(UsageFixture.tap(#"{"error":{"type":"overloaded_error"}}"#, contentType: "application/json") == nil)
        #expect(UsageFixture.tap("not json", contentType: "application/json") == nil)
        #expect(UsageFixture.tap("", contentType: "text/event-stream") == nil)
    }

    @Test func otherContentTypesAreIgnored() {
        #expect(UsageFixture.tap(UsageFixture.openAIJSON, contentType: "text/plain") == nil)
        #expect(UsageFixture.tap(UsageFixture.openAIJSON, contentType: nil) == nil)
        #expect(UsageTap.kind(of: "application/vnd.api+json") == .json)
        #expect(UsageTap.kind(of: " TEXT/Event-Stream ;charset=utf-8") == .eventStream)
    }

    @Test func modelComesFromTheResponse() {
        let body = #"{"model":"claude-opus-4-1-20250805","usage":{"input_tokens":1,"output_tokens":1}}"#
        #expect(UsageFixture.tap(body, contentType: "application/json")?.model == "claude-opus-4-1-20250805")
        let noModel = #"{"usage":{"prompt_tokens":4,"completion_tokens":1}}"#
        #expect(UsageFixture.tap(noModel, contentType: "application/json") == TokenUsage(inputTokens: 4, outputTokens: 1))
    }

    @Test func jsonBodyOverTheCapIsGivenUp() {
        var tap = UsageTap(contentType: "application/json", maxJSONBytes: 64)
        tap.feed(Array(UsageFixture.openAIJSON.utf8))
        #expect(tap.finish() == nil)
    }

    @Test func laterZeroCountsDoNotEraseEarlierOnes() {
        let body = """
        data: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":50,"output_tokens":1}}}

        data: {"type":"message_delta","usage":{"input_tokens":0,"output_tokens":20}}


        """
        #expect(UsageFixture.tap(body, contentType: "text/event-stream", chunk: 1)
                == TokenUsage(model: "claude-x", inputTokens: 50, outputTokens: 20))
    }
}

extension String {
    /// Stdlib-only replacement (the tests avoid Foundation where they can).
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
