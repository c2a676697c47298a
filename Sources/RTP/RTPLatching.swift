// RTPLatching: when a call's RTP may come from somewhere other than the address its SDP named,
// and our RTP then goes there (RFC 4961 symmetric RTP; Asterisk's rtp_symmetric/comedia). sip.conf
// `media_latching` per peer.

/// Whether, and onto which sources, an `RTPSourceFilter` latches (RFC 4961 §4: a symmetric peer
/// sends from the address it receives on, so the first packet's source is where to send).
public enum RTPLatching: String, Sendable, Equatable, CaseIterable {
    /// `no`: never. Packets must come from the IP the SDP `c=` line named (any port); ours go to the
    /// SDP's address. A peer behind NAT announcing a private address is not heard.
    case off = "no"
    /// `signalling`: latch onto the first packet whose source IP is the SDP's or the signalling
    /// peer's (the INVITE's source, or where ours went). Packets from any other IP stay strangers.
    case signallingSource = "signalling"
    /// `yes`: latch onto the first packet from anywhere. Risk: whoever sends the first packet to
    /// our RTP port (guessable from the range) takes the call's media — hears the prompts and keys
    /// the code. Only for peers whose media comes from unpredictable addresses.
    case anySource = "yes"
}
