import RampartHTTP
import Testing
@testable import RampartProxy

/// SPEC §11.1–11.2: OpenAI streams are asked for usage the client did not ask for, and the client's
/// stream is what it would have been without it; a call whose response reports nothing is estimated.
@Suite struct UsageInjectionTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func aStreamWithoutTheOptionGetsItAndKeepsItsOtherBytes() {
        let body = #"{"model":"gpt-4o","temperature":0.70,"stream":true,"messages":[]}"#
        let asked = UsageInjection.askingForUsage(Self.bytes(body)).map { String(decoding: $0, as: UTF8.self) }
        #expect(asked == #"{"model":"gpt-4o","temperature":0.70,"stream":true,"messages":[],"stream_options":{"include_usage":true}}"#)
    }

    @Test func requestsThatNeedNothingPassUnchanged() {
        #expect(UsageInjection.askingForUsage(Self.bytes(#"{"model":"m","messages":[]}"#)) == nil, "not streaming")
        #expect(UsageInjection.askingForUsage(Self.bytes(#"{"stream":false}"#)) == nil)
        #expect(UsageInjection.askingForUsage(Self.bytes(#"{"stream":true,"messages":[],"stream_options":{"include_usage":true}}"#)) == nil, "already asks")
        #expect(UsageInjection.askingForUsage(Self.bytes("not json")) == nil)
        #expect(UsageInjection.askingForUsage(Self.bytes(#"{"model":"m","input":"Hi","stream":true}"#)) == nil, "the Responses API refuses the option")
        let null = UsageInjection.askingForUsage(Self.bytes(#"{"stream":true,"messages":[],"stream_options":null}"#))
        #expect(null.map { String(decoding: $0, as: UTF8.self) } == #"{"stream":true,"messages":[],"stream_options":{"include_usage":true}}"#)
        let off = UsageInjection.askingForUsage(Self.bytes(#"{"stream":true,"messages":[],"stream_options":{"include_usage":false}}"#))
        #expect(off.map { String(decoding: $0, as: UTF8.self) } == #"{"stream":true,"messages":[],"stream_options":{"include_usage":true}}"#)
    }

    static let withUsage = [
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\r\n\r\n",
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n",
        "data: [DONE]\n\n",
    ].joined()
    static let asTheClientAsked = [
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n",
        "data: [DONE]\n\n",
    ].joined()

    static func edit(_ stream: [UInt8], pieces size: Int) -> [UInt8] {
        let removal = UsageChunkRemoval()
        var out: [UInt8] = []
        var i = 0
        while i < stream.count {
            let piece = Array(stream[i..<min(stream.count, i + size)])
            out += piece.withUnsafeBytes { removal.editBody($0) }
            i += size
        }
        return out
    }

    @Test(arguments: [1, 2, 7, 64, 100_000])
    func theClientGetsTheStreamItAskedForHoweverItIsCut(size: Int) {
        #expect(String(decoding: Self.edit(Self.bytes(Self.withUsage), pieces: size), as: UTF8.self) == Self.asTheClientAsked)
    }

    @Test func aContentStringThatMentionsUsageIsLeftAlone() {
        let event = "data: {\"choices\":[{\"delta\":{\"content\":\"{\\\"choices\\\":[],\\\"usage\\\":null}\"}}]}\n\n"
        #expect(String(decoding: Self.edit(Self.bytes(event), pieces: 3), as: UTF8.self) == event)
    }

    @Test func anEstimateErrsHighFromTheRequest() {
        var config = UsageConfig()
        config.charsPerToken = 4
        config.fallbackOutputTokens = 4096
        let asked = UsageEstimate.of(Self.bytes(#"{"model":"gpt-4o","max_completion_tokens":300,"messages":[{"content":"ééé"}]}"#), config: config)
        #expect(asked.model == "gpt-4o")
        #expect(asked.outputTokens == 300)
        #expect(asked.inputTokens == 20, "77 characters at 4 per token, rounded up (é counts once)")
        let open = UsageEstimate.of(Self.bytes(#"{"model":"claude"}"#), config: config)
        #expect(open.outputTokens == 4096, "no max tokens: the configured fallback")
    }
}
