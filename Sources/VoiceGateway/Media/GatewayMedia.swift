// GatewayMedia: what the gateway needs to answer calls with audio — the prompts, the RTP port
// range, the address RTP is bound to and announced in SDP, the codecs in order, digit timeouts.

import Foundation
import Logging
import Media
import NIOPosix
import SDP

/// Media settings of a gateway that answers calls.
public struct GatewayMedia: Sendable {
    /// The encoded prompts.
    public var prompts: PromptStore
    /// RTP ports.
    public var ports: RTPPortAllocator
    /// The IP RTP binds to and, without `externalAddress`, SDP announces (a literal address).
    public var host: String
    /// The IP SDP announces (RFC 8866 §5.7 `c=`) when the gateway is behind NAT (sip.conf
    /// `rtp_external_address`): the public address that forwards to `host`. Nil: `host`.
    public var externalAddress: String?
    /// The IP put in our SDP's `c=` and `o=` lines: `externalAddress`, else `host`.
    public var announcedHost: String { externalAddress ?? host }
    /// Codecs offered/accepted, in order of preference.
    public var codecs: [SDP.AudioCodec]
    /// Wrong codes one call may key before it ends politely.
    public var maxWrongCodesPerCall: Int
    /// Wait for the first key after the prompt, and between keys.
    public var firstDigitTimeout: Duration
    /// Wait between keys.
    public var interDigitTimeout: Duration
    /// voice_call key press: how many times "press any key to hear your code" is played at most.
    public var keypressPrompts: Int
    /// voice_call key press: the silence after each of those prompts before the next (or the hang-up).
    public var keypressWait: Duration
    /// RTP send punctuality over all calls.
    public let statistics = MediaStatistics()

    /// Makes the settings; `promptsDirectory` holds one folder of WAVs per locale (prompts/).
    public init(
        promptsDirectory: URL, ports: RTPPortAllocator = RTPPortAllocator(), host: String = "127.0.0.1", codecs: [SDP.AudioCodec] = [.pcmu, .pcma],
        maxWrongCodesPerCall: Int = 3, firstDigitTimeout: Duration = .seconds(10), interDigitTimeout: Duration = .seconds(4),
        keypressPrompts: Int = 3, keypressWait: Duration = .seconds(4), externalAddress: String? = nil
    ) throws {
        self.externalAddress = externalAddress
        self.keypressPrompts = keypressPrompts
        self.keypressWait = keypressWait
        self.prompts = try PromptStore(directory: promptsDirectory)
        self.ports = ports
        self.host = host
        self.codecs = codecs
        self.maxWrongCodesPerCall = maxWrongCodesPerCall
        self.firstDigitTimeout = firstDigitTimeout
        self.interDigitTimeout = interDigitTimeout
    }
}

extension GatewayMedia {
    /// Binds one call's RTP and RTCP on `host`, from `ports`, on an event loop of the shared group
    /// (`RTPSockets.bind`): nil when no port is to be had.
    func bindRTP(logger: Logger) async throws -> RTPSockets? {
        try await RTPSockets.bind(host: host, allocator: ports, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
    }
}
