import Glibc
import RampartHTTP
import RampartLoop
import RampartTransport

// libFuzzer target for the HTTP/2 front door as a whole (`HTTP2Connection`, `HTTP2Callbacks`,
// `HTTP2Stream`, the request mapping, flow control and the abuse limits): the input is what a
// client sends after the connection preface, read by a real connection from a real socket pair and
// driven by a real event loop; a stand-in service answers every request 200. Invariants, on any bytes:
//  - nothing traps (AddressSanitizer and Swift's own checks turn a memory error into a crash);
//  - once the client's side is closed, the connection closes within a few loop turns (its socket
//    and the host's count released): no input leaves a connection or a socket behind;
//  - every exchange the service began ended: it answered, or the connection told it it was gone;
//  - once the connection is freed, no timer of it fires (AddressSanitizer would see the freed memory).

final class Host: ConnectionHost {
    let loop: EventLoop
    var open = 0
    init(loop: EventLoop) { self.loop = loop }
    func admit(role: ListenerRole) -> ConnectionAdmission? { nil }
    func refusal(_ reason: AcceptRefusal, role: ListenerRole) -> [UInt8] { [] }
    func connectionOpened(_ connection: any ServedConnection) { open += 1 }
    func connectionClosed(_ connection: any ServedConnection) { open -= 1 }
    func bytesIn(_ count: Int) {}
    func bytesOut(_ count: Int) {}
    var isShuttingDown: Bool { false }
    func localReply(for error: ConnectionError, request: HTTPRequestHead?, on connection: any ClientStream) -> (HTTPResponseHead, [UInt8]) {
        var headers = HTTPHeaders()
        headers.add("Content-Length", "0")
        return (HTTPResponseHead(status: error.status, headers: headers), [])
    }
    func http2Abuse(_ kind: String) {}
    func connectionTimedOut(_ kind: String) {}
}

/// Answers 200 "ok" once the request body ended.
final class Answer: ServerExchange {
    let stream: any ClientStream
    var ended = false
    init(_ stream: any ClientStream) { self.stream = stream; Service.live += 1 }
    func requestBody(_ bytes: UnsafeRawBufferPointer) {}
    func requestBodyEnded() {
        guard !ended else { return }
        end()
        var headers = HTTPHeaders()
        headers.add("Content-Length", "2")
        stream.sendHead(HTTPResponseHead(status: 200, headers: headers))
        _ = stream.sendBody([0x6F, 0x6B])
        stream.endResponse()
    }
    func resumeResponse() {}
    func connectionClosed() { if !ended { end() } }
    private func end() { ended = true; Service.live -= 1 }
}

final class Service: RequestService {
    nonisolated(unsafe) static var live = 0
    func begin(_ head: HTTPRequestHead, on connection: any ClientStream) -> ServerExchange { Answer(connection) }
}

// The loop's clock moves only when told, so a due timer fires without the harness sleeping.
nonisolated(unsafe) let clock = ManualClock()
let loop = EventLoop(index: 0, clock: clock)
nonisolated(unsafe) let host = Host(loop: loop)   // libFuzzer calls on one thread
nonisolated(unsafe) let service = Service()
let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
// A 2 ms keep-alive: the clock is moved past it once the connection is freed (below), so a timer
// left armed on a connection that is gone shows as a use-after-free in the input that left it.
let timeouts = HTTP1ServerMachine.Settings(limits: HTTPLimits(), headerTimeoutNs: 10_000_000_000, bodyTimeoutNs: 10_000_000_000,
                                           keepaliveTimeoutNs: 2_000_000)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = preface + inputBytes(data, size)
    var pair: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
        fatalError("socketpair: \(errno)")
    }
    var big: Int32 = 4 << 20   // room for every answer: the client side never reads
    setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &big, socklen_t(MemoryLayout<Int32>.size))
    setsockopt(pair[1], SOL_SOCKET, SO_RCVBUF, &big, socklen_t(MemoryLayout<Int32>.size))
    var connection: HTTP2Connection? = HTTP2Connection(fd: pair[0], peerIP: [127, 0, 0, 1], peerText: "127.0.0.1", host: host,
                                                       service: service, settings: HTTP2Settings(), timeouts: timeouts, tls: nil)
    loop.turn(timeoutMs: 0)
    input.withUnsafeBytes { connection?.start(initial: $0) }
    shutdown(pair[1], Int32(SHUT_WR))
    var turns = 0
    while host.open > 0 && turns < 20 {
        loop.turn(timeoutMs: 50)
        turns += 1
    }
    require(host.open == 0, "the connection outlived its client: \(show(input.dropFirst(preface.count)))")
    require(Service.live == 0, "\(Service.live) exchanges never ended: \(show(input.dropFirst(preface.count)))")
    // The connection is gone: whatever timer it left armed fires now, on freed memory if any.
    connection = nil
    clock.advance(by: 0.003)
    loop.turn(timeoutMs: 0)
    close(pair[1])
    return 0
}
