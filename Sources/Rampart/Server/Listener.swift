import RampartHTTP
import RampartLoop
import Glibc

/// Accepts connections on one listening socket of one loop and hands them to `service`.
final class Listener: EventHandler, @unchecked Sendable {
    let fd: Int32
    private let context: ServerContext
    private let makeService: (ServerContext) -> RequestService
    private lazy var service: RequestService = makeService(context)
    /// The main listener serves clients: it terminates TLS when `server.tls` is set, counts toward
    /// `max_connections` and closes when a drain stops accepting. The admin and metrics listeners
    /// stay open until the process exits, so ops can watch a drain.
    enum Role { case main, admin, metrics }
    let role: Role
    private var enforceMaxConnections: Bool { role == .main }
    private var terminatesTLS: Bool { role == .main }
    private(set) var isOpen = true

    init(fd: Int32, context: ServerContext, role: Role, makeService: @escaping (ServerContext) -> RequestService) {
        self.fd = fd; self.context = context; self.role = role; self.makeService = makeService
        context.loop.register(fd: fd, events: Epoll.input, handler: self)
    }

    func handleEvents(_ events: UInt32) { _ = acceptPending(max: 64) }

    /// Accepts up to `max` queued connections; returns how many it took.
    private func acceptPending(max: Int) -> Int {
        var taken = 0
        for _ in 0..<max {
            guard let (cfd, ip, text) = Socket.accept(fd) else { return taken }
            taken += 1
            let config = context.currentConfig
            if enforceMaxConnections && context.state.metrics.activeConnections.load(ordering: .relaxed) >= config.server.maxConnections {
                // Over the cap: shed at once, like nginx's worker_connections, rather than queue unboundedly.
                Glibc.close(cfd)
                continue
            }
            let tls = terminatesTLS ? context.active.tls.flatMap { TLSSession(context: $0, fd: cfd) } : nil
            let conn = HTTPConnection(fd: cfd, peerIP: ip, peerText: text, loop: context.loop, context: context,
                                      service: service, limits: config.server.limits, tls: tls, clientFacing: role == .main)
            conn.start()
        }
        return taken
    }

    var contextIdentity: ObjectIdentifier { ObjectIdentifier(context) }

    /// Stops accepting. Connections already in this socket's accept queue (each SO_REUSEPORT
    /// socket has its own) are taken first, so closing it resets none of them; they get their
    /// one request answered with `Connection: close`.
    func close() {
        guard isOpen else { return }
        while acceptPending(max: 64) == 64 {}
        isOpen = false
        context.loop.unregister(fd: fd)
        Glibc.close(fd)
    }
}
