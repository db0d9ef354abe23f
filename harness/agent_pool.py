"""Many agent phones in ONE SIPp process, for benchmarks (``harness/phones.py`` runs one process per phone).

The pool registers every agent from the same UDP port: its main scenario is one "call" per agent,
each taking the next line of an injection file (``number;password``), REGISTERing that agent with
the digest ``[authentication username="[field0]" password="[field1]"]`` (quoted: SIPp 3.6 does not
parse a bracketed keyword inside another one unquoted) and refreshing it at half the
expiry. The agents' endpoints have ``rewrite_contact = yes``, so Asterisk sends every INVITE (and
the OPTIONS it qualifies contacts with) for every agent back to that one port; each such request
starts a call of the out-of-call scenario (``-oocsf``): 180 Ringing, 200 OK (A-law SDP) after
``answer_after`` seconds, and BYE ``talk_seconds`` after the ACK unless Asterisk hangs up first; a
CANCEL while ringing gets 200 and 487.

What the pool saw is written by SIPp's ``<log>`` action (``-trace_logs``), one line per step:
``registered <number>``, ``invite <number> <call-id>``, ``answered ...``, ``cancelled ...``,
``bye_sent ...``, ``bye_received ...``; ``registered()`` and ``counts()`` read it. The pool sends
no RTP; Asterisk's RTP goes to the pool's media port, which SIPp does not read (the kernel drops it).
With ``extra=["-rtp_echo"]`` SIPp reads that port and sends every packet back where it came from:
each phone speaks back what it hears (``bench/recorded_calls.py``).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping
from pathlib import Path

from harness.phones import stop_sipp
from harness.sipp import SIPP, free_udp_pair

_TAG = "[pid]SIPpPool[call_number]"

_REGISTER = """
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]:[remote_port]>;tag=[pid]SIPpPoolReg[call_number]
      To: <sip:[field0]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: [cseq] REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
      Expires: {expires}
      Max-Forwards: 70
      User-Agent: callcore-agent-pool{auth}
      Content-Length: 0
    ]]>
  </send>
"""


def register_scenario(*, expires: int) -> str:
    """The main scenario: one call per injection line (an agent), registering it and refreshing it
    every ``expires / 2`` seconds until the process stops."""
    body = [
        '  <label id="register"/>',
        _REGISTER.format(expires=expires, auth=""),
        '  <recv response="401" auth="true"/>',
        _REGISTER.format(expires=expires, auth="\n      [authentication username=\"[field0]\" password=\"[field1]\"]"),
        '  <recv response="200"/>',
        '  <nop><action><log message="registered [field0]"/></action></nop>',
        f'  <pause milliseconds="{expires * 1000 // 2}" next="register"/>',
    ]
    return _xml("callcore agent pool: registrations", body)


def _response(status: str, *, cseq: str = "[last_CSeq:]", to_tag: bool = True, sdp: bool = False) -> str:
    lines = [
        f"SIP/2.0 {status}", "[last_Via:]", "[last_From:]", "[last_To:]" + (f";tag={_TAG}" if to_tag else ""),
        "[last_Call-ID:]", cseq, "Contact: <sip:[$user]@[local_ip]:[local_port];transport=[transport]>",
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS", "User-Agent: callcore-agent-pool",
    ]
    if sdp:
        lines += [
            "Content-Type: application/sdp", "Content-Length: [len]", "",
            "v=0", "o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]", "s=-",
            "c=IN IP[media_ip_type] [media_ip]", "t=0 0", "m=audio [media_port] RTP/AVP 8 101",
            "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=sendrecv",
        ]
    else:
        lines.append("Content-Length: 0")
    return "\n".join("      " + line for line in lines)


def _send(text: str, *, retrans: bool = False, next_label: str = "") -> str:
    attrs = (' retrans="500"' if retrans else "") + (f' next="{next_label}"' if next_label else "")
    return f"  <send{attrs}>\n    <![CDATA[\n{text}\n    ]]>\n  </send>"


def _log(what: str, extra: str = "") -> str:
    return f'  <nop><action><log message="{what} [$user] [call_id]{extra}"/></action></nop>'


def _xml(name: str, body: list[str]) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
            f'<scenario name="{name}">\n' + "\n".join(body) + "\n</scenario>\n")


def answer_scenario(*, answer_after: float, talk_seconds: float) -> str:
    """The out-of-call scenario: every agent's phone answers after ``answer_after`` seconds and hangs
    up ``talk_seconds`` after the ACK (Asterisk's BYE first ends it earlier); OPTIONS get 200.

    ``[$user]`` is the agent's number, taken from the INVITE's Request-URI (the registered Contact,
    host and port rewritten by Asterisk)."""
    grab = (
        "\n    <action>\n"
        '      <ereg regexp="^INVITE sips?:([^@;> ]+)@" search_in="msg" check_it="false" assign_to="junk,user"/>\n'
        '      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="peer"/>\n'
        '      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="me"/>\n'
        "    </action>\n  "
    )
    # SIPp numbers every out-of-call call alike ([call_number] is 0 or garbage), so its [branch] repeats
    # from call to call: Asterisk would take a second agent's BYE for a retransmission of the first
    # one's and answer it with the old 200 OK (another Call-ID). The call's own Call-ID makes it unique.
    bye = "\n".join("      " + line for line in [
        "BYE [next_url] SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]-[call_id]",
        f"From: [$me];tag={_TAG}",
        "To: [$peer]",
        "Call-ID: [call_id]",
        "CSeq: [cseq] BYE",
        "Contact: <sip:[$user]@[local_ip]:[local_port];transport=[transport]>",
        "Max-Forwards: 70",
        "Content-Length: 0",
    ])
    body = [
        '  <recv request="OPTIONS" optional="true" next="options"/>',
        f'  <recv request="INVITE" rrs="true">{grab}</recv>',
        _log("invite", " [$junk]"),  # SIPp refuses a variable referenced only once
        _send(_response("180 Ringing")),
        f'  <recv request="CANCEL" timeout="{max(1, int(answer_after * 1000))}" ontimeout="answer"/>',
        _send(_response("200 OK")),  # to the CANCEL
        _send(_response("487 Request Terminated", cseq="CSeq: [last_cseq_number] INVITE")),
        '  <recv request="ACK"/>',
        _log("cancelled"),
        '  <nop next="end"/>',
        '  <label id="answer"/>',
        _send(_response("200 OK", sdp=True), retrans=True),
        '  <recv request="ACK"/>',
        _log("answered"),
        f'  <recv request="BYE" timeout="{max(1, int(talk_seconds * 1000))}" ontimeout="hang_up"/>',
        _send(_response("200 OK", to_tag=False)),
        _log("bye_received"),
        '  <nop next="end"/>',
        '  <label id="hang_up"/>',
        _send(bye, retrans=True),
        '  <recv response="200"/>',
        _log("bye_sent"),
        '  <nop next="end"/>',
        '  <label id="options"/>',
        _send(_response("200 OK").replace("[$user]@", "")),
        '  <label id="end"/>',
    ]
    return _xml("callcore agent pool: phones", body)


class AgentPool:
    """``agents`` (number → SIP password, e.g. from ``Stack.add_agent``) as phones of one SIPp process.

    ``await pool.start()`` runs SIPp and waits (bounded) until Asterisk accepted every REGISTER;
    ``await pool.stop()`` ends the process (the contacts stay until they expire or Asterisk stops).
    """

    def __init__(self, target: tuple[str, int], agents: Mapping[str, str], *, workdir: Path,
                 answer_after: float = 0.5, talk_seconds: float = 10.0, expires: int = 3600,
                 register_rate: float = 100.0, extra: list[str] | None = None) -> None:
        if not agents:
            raise ValueError("an agent pool needs agents")
        for number, password in agents.items():
            if not number.isdigit() or ";" in password or "\n" in password:
                raise ValueError(f"agent {number!r}: unusable in an injection file")
        self.target = target
        self.agents = dict(agents)
        self.workdir = workdir
        self.answer_after = answer_after
        self.talk_seconds = talk_seconds
        self.expires = expires
        self.register_rate = register_rate
        self.extra = list(extra or [])  # more SIPp options, e.g. ["-trace_msg"] to debug
        self.sip_port, self.media_port = free_udp_pair()
        self.proc: asyncio.subprocess.Process | None = None

    def __repr__(self) -> str:
        return f"AgentPool({len(self.agents)} agents at 127.0.0.1:{self.sip_port})"

    @property
    def log_file(self) -> Path:
        return self.workdir / "pool_logs.log"

    @property
    def error_file(self) -> Path:
        return self.workdir / "pool_errors.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, *, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        csv = self.workdir / "agents.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{n};{p}\n" for n, p in self.agents.items()), encoding="ascii")
        csv.chmod(0o600)
        main, uas = self.workdir / "register.xml", self.workdir / "answer.xml"
        main.write_text(register_scenario(expires=self.expires), encoding="utf-8")
        uas.write_text(answer_scenario(answer_after=self.answer_after, talk_seconds=self.talk_seconds), encoding="utf-8")
        host, port = self.target
        n = len(self.agents)
        with open(self.workdir / "pool_screen.log", "ab") as screen:
            self.proc = await asyncio.create_subprocess_exec(
                SIPP, f"{host}:{port}", "-sf", str(main), "-oocsf", str(uas), "-inf", str(csv),
                "-i", "127.0.0.1", "-p", str(self.sip_port), "-mp", str(self.media_port),
                "-m", str(n), "-r", str(self.register_rate), "-rp", "1000", "-l", str(n + 10), "-nostdin",
                "-trace_logs", "-log_file", str(self.log_file), "-trace_err", "-error_file", str(self.error_file),
                *self.extra, stdin=asyncio.subprocess.DEVNULL, stdout=screen, stderr=asyncio.subprocess.STDOUT, cwd=self.workdir,
            )
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.registered()) < n:
            if not self.running or asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise AssertionError(f"{self!r}: {len(self.registered())} of {n} registered in {timeout} s:\n"
                                     f"{self.diagnostics()}")
            await asyncio.sleep(0.2)

    def _lines(self) -> list[list[str]]:
        if not self.log_file.exists():
            return []
        return [line.split() for line in self.log_file.read_text(encoding="utf-8", errors="replace").splitlines() if line]

    def registered(self) -> set[str]:
        """The agents whose REGISTER Asterisk accepted (200 OK) at least once."""
        return {parts[1] for parts in self._lines() if len(parts) >= 2 and parts[0] == "registered"}

    def counts(self) -> collections.Counter[str]:
        """How many INVITEs the phones got and how each ended: invite, answered, cancelled, bye_sent,
        bye_received; and ``aborted``, the calls SIPp's error log says it aborted."""
        out: collections.Counter[str] = collections.Counter(p[0] for p in self._lines() if p and p[0] != "registered")
        if self.error_file.exists():
            out["aborted"] = self.error_file.read_text(encoding="utf-8", errors="replace").count("Aborting call")
        return out

    async def stop(self) -> None:
        if self.proc is None:
            return
        await stop_sipp(self.proc)
        self.proc = None

    def diagnostics(self) -> str:
        parts = []
        for p in (self.error_file, self.workdir / "pool_screen.log"):
            if p.exists():
                parts.append(f"--- {p.name}\n" + p.read_text(encoding="utf-8", errors="replace")[-3000:])
        return "\n".join(parts)
