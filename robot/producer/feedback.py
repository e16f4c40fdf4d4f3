"""What a viewer's RTCP feedback asks of its video: a key frame (PLI, FIR), a bitrate (REMB).

aiortc answers both by itself only when it encodes (the next frame a key frame; the encoder's
``target_bitrate`` set to the estimate, within aiortc's own range); packets a camera encoded
pass it by. It has no public event for feedback: its DTLS transport hands every RTCP packet
for a sender to ``RTCRtpSender._handle_rtcp_packet``, so :func:`listen` puts itself in front
of that one method, for that one sender, and passes on what aiortc is to act on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiortc import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    pack_remb_fci,
    unpack_remb_fci,
)


class ViewerVideo(Protocol):
    """One viewer's video, told what its feedback asks."""

    def picture_lost(self) -> None:
        """The viewer cannot decode until the next key frame."""

    def estimate(self, bps: int) -> int:
        """The viewer's estimate of the bitrate it can receive; returns the bitrate that
        aiortc's own encoder, if it has one, is to follow."""


def listen(sender: RTCRtpSender, video: ViewerVideo) -> None:
    """Tell ``video`` what the feedback for ``sender`` asks, before aiortc sees it."""
    handle: Callable[[AnyRtcpPacket], Awaitable[None]] = sender._handle_rtcp_packet

    async def feedback(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpPsfbPacket):
            if packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                video.picture_lost()
            elif packet.fmt == RTCP_PSFB_APP:
                packet = _estimated(packet, video)
        await handle(packet)

    sender._handle_rtcp_packet = feedback  # type: ignore[method-assign]


def _estimated(packet: RtcpPsfbPacket, video: ViewerVideo) -> RtcpPsfbPacket:
    """The REMB packet with the bitrate ``video`` chose for the estimate it carries."""
    try:
        bps, ssrcs = unpack_remb_fci(packet.fci)
    except ValueError:
        return packet  # an application packet that is not REMB: aiortc ignores it too
    fci = remb_fci(video.estimate(bps), ssrcs)
    return RtcpPsfbPacket(packet.fmt, packet.ssrc, packet.media_ssrc, fci)


def remb_fci(bps: int, ssrcs: list[int]) -> bytes:
    """REMB's FCI for at least ``bps``: its 18-bit mantissa would round a bound down."""
    fci = pack_remb_fci(bps, ssrcs)
    exponent = (fci[5] & 0xFC) >> 2
    if unpack_remb_fci(fci)[0] < bps:
        fci = pack_remb_fci(bps + (1 << exponent), ssrcs)
    return fci
