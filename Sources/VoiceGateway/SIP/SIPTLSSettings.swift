// SIPTLSSettings: how the SIP-over-TLS transport (RFC 3261 §26.2, RFC 5630, RFC 5922) authenticates
// itself and its peers: our certificate chain and key, the CAs we trust (a file or the system store),
// TLS 1.2 at least, the handshake timeout, and whether accepted connections must show a client
// certificate. `SIPTLSContexts` turns it into the swift-nio-ssl contexts the transport uses.

import NIOCore
import NIOSSL
import NIOTLS

/// The TLS settings of a SIP endpoint (sip.conf `tls_certificate`, `tls_private_key`, `tls_ca_file`,
/// `tls_require_client_certificate`; README "SIP over TLS").
public struct SIPTLSSettings: Sendable, Equatable {
    /// PEM file with our certificate, then its intermediates (RFC 3261 §26.3.1: the server proves
    /// its domain; RFC 5922 §4: its SAN dNSName is the SIP domain).
    public var certificateFile: String
    /// PEM file with the private key of the first certificate.
    public var privateKeyFile: String
    /// PEM file of the CAs that sign the certificates we accept (peers' and trunks'); nil: the
    /// system trust store.
    public var caFile: String?
    /// An accepted connection without a valid client certificate is refused at the handshake
    /// (RFC 5922 §7.3 mutual TLS). Otherwise a certificate is asked for, verified when given, and
    /// only then names the connection's identity (`SIPPeer.tlsIdentities`).
    public var requireClientCertificate: Bool
    /// A connection whose handshake has not completed after this long is closed (a stalled
    /// handshake must not hold a connection slot).
    public var handshakeTimeout: Duration

    /// Settings with our certificate and key.
    public init(
        certificateFile: String, privateKeyFile: String, caFile: String? = nil, requireClientCertificate: Bool = false,
        handshakeTimeout: Duration = .seconds(10)
    ) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.caFile = caFile
        self.requireClientCertificate = requireClientCertificate
        self.handshakeTimeout = handshakeTimeout
    }

    /// Reads the files and builds the contexts; throws `SIPTLSSettingsError` naming the file and
    /// the reason (sip.conf checks this at start, so a bad file is refused with its line).
    public func validate() throws(SIPTLSSettingsError) {
        _ = try SIPTLSContexts(self)
    }
}

/// A TLS file could not be used.
public struct SIPTLSSettingsError: Error, CustomStringConvertible, Equatable {
    /// Which setting: `tls_certificate`, `tls_private_key`, `tls_ca_file`, or `tls` for the pair.
    public var setting: String
    /// The file.
    public var file: String
    /// Why (swift-nio-ssl's error).
    public var reason: String
    /// `setting 'file': reason`.
    public var description: String { "\(setting) '\(file)': \(reason)" }
}

/// The server and client contexts of a TLS transport, built once at start.
struct SIPTLSContexts: Sendable {
    /// For accepted connections (NIOSSLServerHandler).
    let server: NIOSSLContext
    /// For connections we dial (NIOSSLClientHandler): full verification, against the server name
    /// the destination carries (RFC 5922 §7.2); our certificate offered for mutual TLS.
    let client: NIOSSLContext
    /// See `SIPTLSSettings.handshakeTimeout`.
    let handshakeTimeout: TimeAmount

    init(_ settings: SIPTLSSettings) throws(SIPTLSSettingsError) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(settings.certificateFile)
        } catch {
            throw SIPTLSSettingsError(setting: "tls_certificate", file: settings.certificateFile, reason: "\(error)")
        }
        guard !chain.isEmpty else {
            throw SIPTLSSettingsError(setting: "tls_certificate", file: settings.certificateFile, reason: "no PEM certificate in the file")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: settings.privateKeyFile, format: .pem)
        } catch {
            throw SIPTLSSettingsError(setting: "tls_private_key", file: settings.privateKeyFile, reason: "\(error)")
        }
        var trustRoots = NIOSSLTrustRoots.default
        if let caFile = settings.caFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else { throw SIPTLSSettingsError(setting: "tls_ca_file", file: caFile, reason: "no PEM certificate in the file") }
                trustRoots = .certificates(roots)
            } catch let error as SIPTLSSettingsError {
                throw error
            } catch {
                throw SIPTLSSettingsError(setting: "tls_ca_file", file: caFile, reason: "\(error)")
            }
        }
        var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        server.minimumTLSVersion = .tlsv12
        server.trustRoots = trustRoots
        // A client certificate is asked for; verified when given; required only when configured.
        server.certificateVerification = settings.requireClientCertificate ? .noHostnameVerification : .optionalVerification
        var client = TLSConfiguration.makeClientConfiguration()
        client.minimumTLSVersion = .tlsv12
        client.trustRoots = trustRoots
        client.certificateVerification = .fullVerification
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        do {
            self.server = try NIOSSLContext(configuration: server)
            self.client = try NIOSSLContext(configuration: client)
        } catch {
            throw SIPTLSSettingsError(setting: "tls", file: settings.certificateFile, reason: "certificate and key do not make a TLS context: \(error)")
        }
        self.handshakeTimeout = .nanoseconds(settings.handshakeTimeout.nanoseconds)
    }
}

/// A TLS handshake did not complete in time.
struct SIPTLSHandshakeTimeoutError: Error, CustomStringConvertible {
    /// The timeout.
    let timeout: TimeAmount
    var description: String { "TLS handshake not completed within \(timeout.nanoseconds / 1_000_000) ms" }
}

/// Closes a connection whose TLS handshake has not completed within the timeout, after passing a
/// `SIPTLSHandshakeTimeoutError` on (a dialled connection's messages then fail as a transport
/// error). Sits right after the NIOSSL handler, which fires `TLSUserEvent.handshakeCompleted`.
final class SIPTLSHandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private let onTimeout: (Channel) -> Void
    private var timer: Scheduled<Void>?

    /// `onTimeout` logs; the handler closes.
    init(timeout: TimeAmount, onTimeout: @escaping (Channel) -> Void) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let channel = context.channel
        let (onTimeout, timeout) = (self.onTimeout, self.timeout)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            onTimeout(channel)
            context.fireErrorCaught(SIPTLSHandshakeTimeoutError(timeout: timeout))
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            timer?.cancel()
            timer = nil
            // After passing the event on: the handlers behind read the peer's certificate from it.
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }
}

extension NIOSSLCertificate {
    /// The SIP domains a certificate names (RFC 5922 §7.1), lowercased: each SAN dNSName, and the host
    /// of each SAN URI of scheme `sip` that has no user part (a URI naming a user is a user's identity,
    /// not the domain's; `sips:` and other schemes name no SIP domain).
    var sipDomains: [String] {
        _subjectAlternativeNames().compactMap { name in
            let text = String(decoding: Array(name.contents), as: UTF8.self).lowercased()
            switch name.nameType {
            case .dnsName:
                return text
            case .uri:
                guard text.hasPrefix("sip:") else { return nil }
                let rest = text.dropFirst(4)
                guard !rest.contains("@") else { return nil }
                let host = rest.prefix { $0 != ";" && $0 != "?" && $0 != ":" }
                return host.isEmpty ? nil : String(host)
            default:
                return nil
            }
        }
    }
}
