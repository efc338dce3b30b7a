import CLinux
import RampartHTTP
import RampartLoop
import Glibc

/// Accepts connections on one listening socket of one loop and hands them to `service`.
///
/// A connection it cannot serve is refused cleanly, never left hanging: over `max_connections`,
/// or when the process has no descriptor left. For the latter it keeps one spare descriptor
/// (the libev/HAProxy reserve): it frees it, takes the connection, answers 503 and closes it, then
/// reserves the spare again. When even that fails (another loop took the descriptor), it stops
/// watching the socket for `pauseMs` rather than wake for the same queued connection at once
/// forever (what nginx does on EMFILE).
package final class Listener: EventHandler, @unchecked Sendable {
    package let fd: Int32
    private let host: ConnectionHost
    private let makeService: () -> RequestService
    private lazy var service: RequestService = makeService()
    /// The main listener closes when a drain stops accepting; the others stay open until exit.
    package let role: ListenerRole
    private(set) var isOpen = true
    private var spare: Int32 = Listener.reserveSpare()
    private var paused = false
    static let pauseMs = 100

    package init(fd: Int32, host: ConnectionHost, role: ListenerRole, makeService: @escaping () -> RequestService) {
        self.fd = fd; self.host = host; self.role = role; self.makeService = makeService
        host.loop.register(fd: fd, events: Epoll.input, handler: self)
    }

    deinit { if spare >= 0 { Glibc.close(spare) } }

    package func handleEvents(_ events: UInt32) { _ = acceptPending(max: 64) }

    /// Accepts up to `max` queued connections; returns how many it took.
    private func acceptPending(max: Int) -> Int {
        var taken = 0
        for _ in 0..<max {
            switch Socket.accept(fd) {
            case .none:
                return taken
            case .failed:
                continue
            case .outOfDescriptors:
                refuseWithSpare()
                return taken
            case .connection(let cfd, let ip, let text):
                taken += 1
                guard let admission = host.admit(role: role) else {
                    // Over the cap: shed at once, like nginx's worker_connections, rather than queue unboundedly.
                    refuse(cfd, .overCapacity)
                    continue
                }
                let tls = admission.tls.flatMap { TLSSession(context: $0, fd: cfd) }
                let conn = HTTPConnection(fd: cfd, peerIP: ip, peerText: text, host: host, service: service,
                                          settings: admission.settings, tls: tls, clientFacing: role == .main,
                                          http2: tls == nil ? (admission.http2?.h2c == true ? admission.http2 : nil) : admission.http2)
                conn.start()
            }
        }
        return taken
    }

    /// No descriptor left: the spare one makes room to take the connection and refuse it.
    private func refuseWithSpare() {
        if spare >= 0 {
            Glibc.close(spare)
            spare = -1
            if case .connection(let cfd, _, _) = Socket.accept(fd) { refuse(cfd, .outOfDescriptors) }
            spare = Self.reserveSpare()
        }
        if spare < 0 { pause() }
    }

    /// Writes the host's refusal (a 503 in its error format) and closes. What the client already
    /// sent is read first, so the close is a FIN after the answer, not a reset that could drop it.
    private func refuse(_ cfd: Int32, _ reason: AcceptRefusal) {
        let reply = host.refusal(reason, role: role)
        var scratch = [UInt8](repeating: 0, count: 4096)
        _ = scratch.withUnsafeMutableBytes { recv(cfd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        _ = reply.withUnsafeBytes { send(cfd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        Glibc.close(cfd)
    }

    private func pause() {
        guard !paused, isOpen else { return }
        paused = true
        host.loop.modify(fd: fd, events: 0)
        _ = host.loop.schedule(afterMs: Self.pauseMs) { [weak self] in
            guard let self, self.paused else { return }
            self.paused = false
            if self.spare < 0 { self.spare = Self.reserveSpare() }
            if self.isOpen { self.host.loop.modify(fd: self.fd, events: Epoll.input) }
        }
    }

    private static func reserveSpare() -> Int32 { open("/dev/null", O_RDONLY | O_CLOEXEC) }

    package var hostIdentity: ObjectIdentifier { ObjectIdentifier(host) }

    /// Stops accepting. Connections already in this socket's accept queue (each SO_REUSEPORT
    /// socket has its own) are taken first, so closing it resets none of them; they get their
    /// one request answered with `Connection: close`.
    package func close() {
        guard isOpen else { return }
        while acceptPending(max: 64) == 64 {}
        isOpen = false
        paused = false
        host.loop.unregister(fd: fd)
        Glibc.close(fd)
    }
}
