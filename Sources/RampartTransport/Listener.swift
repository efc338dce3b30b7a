import RampartHTTP
import RampartLoop
import Glibc

/// Accepts connections on one listening socket of one loop and hands them to `service`.
package final class Listener: EventHandler, @unchecked Sendable {
    package let fd: Int32
    private let host: ConnectionHost
    private let makeService: () -> RequestService
    private lazy var service: RequestService = makeService()
    /// The main listener closes when a drain stops accepting; the others stay open until exit.
    package let role: ListenerRole
    private(set) var isOpen = true

    package init(fd: Int32, host: ConnectionHost, role: ListenerRole, makeService: @escaping () -> RequestService) {
        self.fd = fd; self.host = host; self.role = role; self.makeService = makeService
        host.loop.register(fd: fd, events: Epoll.input, handler: self)
    }

    package func handleEvents(_ events: UInt32) { _ = acceptPending(max: 64) }

    /// Accepts up to `max` queued connections; returns how many it took.
    private func acceptPending(max: Int) -> Int {
        var taken = 0
        for _ in 0..<max {
            guard let (cfd, ip, text) = Socket.accept(fd) else { return taken }
            taken += 1
            guard let admission = host.admit(role: role) else {
                // Over the cap: shed at once, like nginx's worker_connections, rather than queue unboundedly.
                Glibc.close(cfd)
                continue
            }
            let tls = admission.tls.flatMap { TLSSession(context: $0, fd: cfd) }
            let conn = HTTPConnection(fd: cfd, peerIP: ip, peerText: text, host: host, service: service,
                                      settings: admission.settings, tls: tls, clientFacing: role == .main)
            conn.start()
        }
        return taken
    }

    package var hostIdentity: ObjectIdentifier { ObjectIdentifier(host) }

    /// Stops accepting. Connections already in this socket's accept queue (each SO_REUSEPORT
    /// socket has its own) are taken first, so closing it resets none of them; they get their
    /// one request answered with `Connection: close`.
    package func close() {
        guard isOpen else { return }
        while acceptPending(max: 64) == 64 {}
        isOpen = false
        host.loop.unregister(fd: fd)
        Glibc.close(fd)
    }
}
