"""Real SIP peers for the journeys: SIPp scenarios built from a few steps, run as subprocesses.

A caller is a SIPp UAC that sends INVITE to the hotline on the citizen trunk and then follows
its steps (pause, key digits with RFC 2833 packets from sip-tester's pcaps, play audio, hang
up, or wait for the hotline to hang up). SIPp's exit code says whether the whole script ran.
A caller placed with ``hear=True`` also keeps what it heard (``harness/heard.py``): its SDP names an
RTP sink's port instead of SIPp's own, and the audio is written to a WAV. Agent phones are in
``harness/phones.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from harness.heard import RtpSink, pcm, write_wav

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
PCAPS = Path("/usr/share/sip-tester")
_ports = itertools.count(0)
# sip-tester's A-law speech sample: 236 RTP packets of 30 ms (7.08 s).
SPEECH_SAMPLE = PCAPS / "g711a.pcap"
SPEECH_SAMPLE_MS = 7080
_PCAP_HEADER, _RECORD_HEADER = 24, 16


def _sample_packets(data: bytes) -> list[bytes]:
    """The captured frames of a pcap file (Ethernet, IPv4, UDP, RTP), in order."""
    packets: list[bytes] = []
    offset = _PCAP_HEADER
    while offset < len(data):
        length = int.from_bytes(data[offset + 8:offset + 12], "little")
        packets.append(data[offset + _RECORD_HEADER:offset + _RECORD_HEADER + length])
        offset += _RECORD_HEADER + length
    return packets


def _udp_offset(packet: bytes) -> int:
    """Where a captured frame's UDP header starts: after Ethernet (14 bytes) and the IPv4 header."""
    return 14 + (packet[14] & 0x0F) * 4


def _written(out: Path, data: bytes) -> Path:
    """``out`` holding ``data``, written whole under another name first (parallel tests may make it too)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(out)
    return out


def speech_pcap(ms: int) -> Path:
    """sip-tester's speech sample repeated to last ``ms`` milliseconds, as one stream: RTP sequence
    numbers and timestamps run on across the repeats (a phone sends one continuous stream for the whole
    call; replaying the sample would send its numbers again). Written once per length, then reused."""
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "callcore-pcaps" / f"speech-{ms}.pcap"
    if out.exists():
        return out
    data = SPEECH_SAMPLE.read_bytes()
    packets = _sample_packets(data)
    udp = _udp_offset(packets[0])
    rtp = udp + 8
    step_ms = 1000 * (len(packets[0]) - rtp - 12) // 8000  # A-law: one byte a sample at 8 kHz
    records = [data[:_PCAP_HEADER]]
    for i in range(max(1, ms // step_ms)):
        packet = bytearray(packets[i % len(packets)])
        packet[udp + 6:udp + 8] = b"\0\0"  # no UDP checksum (allowed over IPv4): the header changes
        packet[rtp + 2:rtp + 4] = (i & 0xFFFF).to_bytes(2, "big")
        packet[rtp + 4:rtp + 8] = (i * step_ms * 8 & 0xFFFFFFFF).to_bytes(4, "big")
        at_us = i * step_ms * 1000
        records.append(b"".join(((at_us // 1_000_000).to_bytes(4, "little"), (at_us % 1_000_000).to_bytes(4, "little"),
                                 len(packet).to_bytes(4, "little"), len(packet).to_bytes(4, "little"), bytes(packet))))
    return _written(out, b"".join(records))


def speech_alaw() -> Path:
    """sip-tester's speech sample as raw A-law (its RTP payloads joined): what SIPp's ``rtp_stream``
    plays (``Speak(via="stream")``). Written once, then reused."""
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "callcore-pcaps" / "speech.alaw"
    if out.exists():
        return out
    payloads = [packet[_udp_offset(packet) + 8 + 12:] for packet in _sample_packets(SPEECH_SAMPLE.read_bytes())]
    return _written(out, b"".join(payloads))


@dataclass(frozen=True)
class Pause:
    ms: int


@dataclass(frozen=True)
class Keys:
    """Digits keyed ``gap_ms`` apart, as RFC 2833 events (sip-tester's pcaps) or SIP INFO.

    The pcaps all carry the same RTP timestamp, so Asterisk takes a repeated digit in a quick
    string for a retransmission (res_rtp_asterisk); strings are keyed with INFO.
    """

    digits: str
    gap_ms: int = 400
    via: str = "rfc2833"


@dataclass(frozen=True)
class Speak:
    """Sends audio (sip-tester's A-law sample, repeated: ``speech_pcap``) for ``ms`` milliseconds. With
    ``wait`` False the next step starts at once while the audio goes on, as a phone keeps sending RTP
    while it waits for the far end to hang up (a pause would take the BYE for an unexpected message).

    ``via`` "pcap" replays the sample's packets (a SIPp thread per call, sending from the call's media
    port); "stream" has SIPp's ``rtp_stream`` send it as 20 ms packets from the process's media socket
    (``-mp``), one thread serving many calls: what a load run of hundreds of talking callers uses, so
    the callers' own CPU does not starve the machine under test."""

    ms: int = 3000
    wait: bool = True
    via: str = "pcap"


@dataclass(frozen=True)
class HangUp:
    pass


@dataclass(frozen=True)
class ExpectHangup:
    """The hotline hangs up (sends BYE) within ``timeout_ms``."""

    timeout_ms: int = 30_000


@dataclass(frozen=True)
class Refused:
    """The hotline refuses the call with final response ``status``; with ``early_media``, after a 183
    (a message played before any answer). The only step of a call: nothing follows a refusal."""

    status: int = 503
    early_media: bool = False


Step = Pause | Keys | Speak | HangUp | ExpectHangup | Refused
DTMF_PCAPS = {**{d: f"dtmf_2833_{d}.pcap" for d in "0123456789"}, "#": "dtmf_2833_pound.pcap", "*": "dtmf_2833_star.pcap"}

_INVITE = """
  <send retrans="500" start_rtd="answer">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[$callername]" <sip:[$caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: [cseq] INVITE
      Contact: sip:[$caller]@[local_ip]:[local_port]
      Max-Forwards: 70
      Subject: callcore e2e
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true" rtd="answer"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[$callername]" <sip:[$caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:[$caller]@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""

# The final response of a refused INVITE, and its ACK (same transaction: the INVITE's Via, branch and CSeq).
_REFUSED = """
  <recv response="{status}"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "[$callername]" <sip:[$caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:[$caller]@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""

_BYE = """
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[$callername]" <sip:[$caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: [cseq] BYE
      Contact: sip:[$caller]@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
"""

_INFO = """
  <send>
    <![CDATA[
      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[$callername]" <sip:[$caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: [cseq] INFO
      Contact: sip:[$caller]@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal={digit}
      Duration=160
    ]]>
  </send>
  <recv response="200"/>
"""

_EXPECT_BYE = """
  <recv request="BYE" timeout="{timeout}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
"""


def scenario(steps: list[Step], *, caller: str = "[$caller]", media_port: str = "[media_port]") -> str:
    """The UAC script of ``steps``. ``caller`` is the From user (a load run varies it per call with
    ``[call_number]``); ``media_port`` is the SDP's RTP port (a load run points it at a sink)."""
    refusal = next((s for s in steps if isinstance(s, Refused)), None)
    if refusal is not None:
        if len(steps) != 1:
            raise ValueError("a refused call has no other steps")
        # The INVITE and its provisional answers; the 183 is expected, not optional, with early media.
        invite = (_INVITE[: _INVITE.index('  <recv response="200"')].replace("[media_port]", media_port)
                  .replace(' start_rtd="answer"', ""))
        if refusal.early_media:
            invite = invite.replace('<recv response="183" optional="true"/>', '<recv response="183"/>')
        body = [invite, _REFUSED.replace("{status}", str(refusal.status))]
    else:
        body = [_INVITE.replace("[media_port]", media_port)]
    for step in steps:
        if isinstance(step, Pause):
            body.append(f'  <pause milliseconds="{step.ms}"/>')
        elif isinstance(step, Keys):
            for digit in step.digits:
                if step.via == "info":
                    body.append(_INFO.replace("{digit}", digit))
                else:
                    body.append(f'  <nop><action><exec play_pcap_audio="{PCAPS / DTMF_PCAPS[digit]}"/></action></nop>')
                body.append(f'  <pause milliseconds="{step.gap_ms}"/>')
        elif isinstance(step, Speak):
            if step.via == "stream":
                loops = -(-step.ms // SPEECH_SAMPLE_MS)
                body.append(f'  <nop><action><exec rtp_stream="{speech_alaw()},{loops},8"/></action></nop>')
            else:
                body.append(f'  <nop><action><exec play_pcap_audio="{speech_pcap(step.ms)}"/></action></nop>')
            if step.wait:
                body.append(f'  <pause milliseconds="{step.ms}"/>')
        elif isinstance(step, HangUp):
            body.append(_BYE)
        elif isinstance(step, ExpectHangup):
            body.append(_EXPECT_BYE.format(timeout=step.timeout_ms))
    xml = (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
        '<scenario name="callcore caller">\n  <Global variables="{globals}"/>\n' + "\n".join(body)
        + '\n  <ResponseTimeRepartition value="10, 20, 50, 100, 200, 500, 1000, 2000"/>\n</scenario>\n'
    )
    # SIPp refuses a declared variable that nothing uses.
    names = "caller,callername" if caller == "[$caller]" else "callername"
    return xml.replace("[$caller]@", f"{caller}@").replace("{globals}", names)


@dataclass
class SippResult:
    returncode: int
    output: str
    # What the caller heard (8 kHz WAV) when placed with ``hear=True``: ``harness.heard.check`` reads it.
    heard: Path | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def free_udp_pair() -> tuple[int, int]:
    """A SIP port and an RTP port (even, with its +1/+2 neighbours free) for one SIPp process."""
    while True:
        n = next(_ports)
        base = 30000 + (os.getpid() % 40) * 500 + (n * 6) % 500
        socks = []
        try:
            for port in (base, base + 2, base + 3, base + 4):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base, base + 2
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()


# The sink's port, from SIPp's media port: SIPp binds that one and the next even one (its video socket),
# ``free_udp_pair`` leaves both free, and the sink takes the even port after them.
SINK_OFFSET = 4


async def _ports_with_sink() -> tuple[int, int, RtpSink]:
    """A SIP and a media port for SIPp, and an RTP sink bound at ``media_port + SINK_OFFSET``."""
    for _ in range(100):
        sip_port, media_port = free_udp_pair()
        try:
            return sip_port, media_port, await RtpSink.open(media_port + SINK_OFFSET)
        except OSError:
            continue
    raise OSError("no free port for the caller's RTP sink")


async def call(
    target: tuple[str, int], steps: list[Step], *, workdir: Path, caller: str = "13800138000", caller_name: str = "",
    service: str = "96881", timeout_s: float = 90, calls: int = 1, rate: float = 1.0, limit: int = 100,
    extra: list[str] | None = None, hear: bool = False,
) -> SippResult:
    """Places ``calls`` calls (one by default) and waits for SIPp to finish.

    With ``hear`` (one call only) the caller's SDP offers an RTP sink's port, ``[media_port+4]``: SIPp
    sends its own RTP (keys, ``Speak``) from the port its SDP names (play_pcap_audio crafts the source
    port; call.cpp, ``[media_port]`` interpolation), so Asterisk's symmetric RTP keeps sending to the
    sink. What arrived is decoded into ``uac_<n>_heard.wav`` (``SippResult.heard``).
    """
    if hear and calls != 1:
        raise ValueError("hear: one call at a time, the sink takes every call's audio")
    workdir.mkdir(parents=True, exist_ok=True)
    n = next(_ports)
    xml = workdir / f"uac_{n}.xml"
    sink: RtpSink | None = None
    if hear:
        sip_port, media_port, sink = await _ports_with_sink()
        xml.write_text(scenario(steps, media_port=f"[media_port+{SINK_OFFSET}]"), encoding="utf-8")
    else:
        sip_port, media_port = free_udp_pair()
        xml.write_text(scenario(steps), encoding="utf-8")
    host, port = target
    args = [
        SIPP, f"{host}:{port}", "-sf", str(xml), "-s", service, "-i", "127.0.0.1", "-p", str(sip_port),
        "-mp", str(media_port), "-m", str(calls), "-r", str(rate), "-l", str(limit),
        "-set", "caller", caller, "-set", "callername", escape(caller_name or caller),
        "-timeout", f"{int(timeout_s)}s", "-timeout_error", "-nostdin",
        "-trace_err", "-error_file", str(workdir / f"uac_{n}_errors.log"),
        *(extra or []),
    ]
    try:
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=workdir,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout_s + 15)
        except TimeoutError:
            proc.kill()
            out, _ = await proc.communicate()
    finally:
        if sink is not None:
            sink.close()
    errors = workdir / f"uac_{n}_errors.log"
    text = out.decode("utf-8", "replace")
    if errors.exists():
        text += "\n" + errors.read_text(encoding="utf-8", errors="replace")[-4000:]
    heard = write_wav(pcm(sink.packets), workdir / f"uac_{n}_heard.wav") if sink is not None else None
    return SippResult(proc.returncode if proc.returncode is not None else -1, text, heard)
