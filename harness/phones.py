"""Agent phones as real SIP peers: one long-running SIPp process per agent that REGISTERs to the
agent's PJSIP endpoint and answers INVITEs as the phone's behaviour says (``Answer``,
``NeverAnswer``, ``Reject``); what it saw is read back from SIPp's message log (``calls()``)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from harness.sipp import DTMF_PCAPS, PCAPS, SIPP, free_udp_pair, speech_pcap

# -- agent phones ---------------------------------------------------------------------------------
#
# One SIPp process per phone, in client mode: its main scenario REGISTERs the agent (digest auth
# with -au/-ap on Asterisk's 401) and refreshes the registration; every request that belongs to no
# call of its own (Asterisk's INVITEs, and the OPTIONS it qualifies the contact with) starts a call
# of the out-of-call scenario (-oocsf), the phone's UAS behaviour. Both share one UDP port, the one
# the REGISTER came from: the agents' endpoints have rewrite_contact = yes, so Asterisk dials the
# REGISTER's source address whatever its Contact says. Media: the phone answers with an A-law SDP
# on its own RTP port and echoes (-rtp_echo) what Asterisk sends there; ``speak`` plays a sample.


@dataclass(frozen=True)
class Answer:
    """Rings (180) ``after_seconds``, then answers (200 OK with SDP) and waits for the ACK.

    Without ``talk_seconds`` the phone waits for Asterisk's BYE; with it, the phone hangs up
    (sends BYE) that long after the ACK unless Asterisk's BYE comes first. A CANCEL while it
    still rings is answered as ``NeverAnswer`` does. ``speak`` sends speech (sip-tester's A-law
    sample, repeated) from the phone's RTP port once answered, for ``talk_seconds`` (else 7 s).
    """

    after_seconds: float = 1.0
    talk_seconds: float | None = None
    speak: bool = False
    # Keys pressed (RFC 2833) ``key_after_seconds`` after the answer: a citizen answering a survey call.
    key: str | None = None
    key_after_seconds: float = 3.0


@dataclass(frozen=True)
class NeverAnswer:
    """Rings (180) until Asterisk CANCELs: 200 to the CANCEL, 487 to the INVITE (then its ACK).

    ``give_up_seconds`` bounds the ringing (the phone then sends 480) so a forgotten call ends.
    """

    give_up_seconds: float = 120.0


@dataclass(frozen=True)
class Reject:
    """Refuses every INVITE at once with ``code`` (486 Busy Here by default)."""

    code: int = 486
    reason: str = "Busy Here"


Behaviour = Answer | NeverAnswer | Reject

_AGENT_TAG = "[pid]SIPpAgent[call_number]"

_AGENT_REGISTER = """
  <label id="register"/>
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{number}@[remote_ip]:[remote_port]>;tag=[pid]SIPpReg[call_number]
      To: <sip:{number}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: [cseq] REGISTER
      Contact: {contact}
      Expires: {expires}
      Max-Forwards: 70
      User-Agent: callcore-e2e-agent{auth}
      Content-Length: 0
    ]]>
  </send>
"""


def _register_scenario(number: str, *, expires: int, refresh_ms: int | None) -> str:
    """REGISTER, 401, REGISTER with credentials, 200; then every ``refresh_ms`` again (None: once).

    ``expires`` 0 is the un-REGISTER: ``Contact: *`` removes every contact of the agent's AOR,
    from whichever address it comes (a rewritten Contact would name the sender's port).
    """
    contact = "*" if expires == 0 else f"<sip:{number}@[local_ip]:[local_port];transport=[transport]>"
    first = _AGENT_REGISTER.format(number=number, contact=contact, expires=expires, auth="")
    second = _AGENT_REGISTER.format(number=number, contact=contact, expires=expires, auth="\n      [authentication]")
    body = [
        first if refresh_ms else first.replace('  <label id="register"/>\n', ""),
        '  <recv response="401" auth="true"/>',
        second.replace('  <label id="register"/>\n', ""),
        '  <recv response="200"/>',
    ]
    if refresh_ms:
        body.append(f'  <pause milliseconds="{refresh_ms}" next="register"/>')
    return _xml(f"callcore agent {number} registration", body)


def _response(status: str, *, cseq: str = "[last_CSeq:]", to_tag: bool = True, sdp: bool = False, number: str = "") -> str:
    """A response to the last request received, from the phone."""
    lines = [
        f"SIP/2.0 {status}", "[last_Via:]", "[last_From:]", "[last_To:]" + (f";tag={_AGENT_TAG}" if to_tag else ""),
        "[last_Call-ID:]", cseq, f"Contact: <sip:{number}@[local_ip]:[local_port];transport=[transport]>",
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS", "User-Agent: callcore-e2e-agent",
    ]
    if sdp:
        lines += ["Content-Type: application/sdp", "Content-Length: [len]", "", *_AGENT_SDP]
    else:
        lines.append("Content-Length: 0")
    return "\n".join("      " + line for line in lines)


_AGENT_SDP = [
    "v=0",
    "o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]",
    "s=-",
    "c=IN IP[media_ip_type] [media_ip]",
    "t=0 0",
    "m=audio [media_port] RTP/AVP 8 101",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=sendrecv",
]


def _send(text: str, *, retrans: bool = False, next_label: str = "") -> str:
    attrs = (' retrans="500"' if retrans else "") + (f' next="{next_label}"' if next_label else "")
    return f"  <send{attrs}>\n    <![CDATA[\n{text}\n    ]]>\n  </send>"


def _xml(name: str, body: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
        f'<scenario name="{escape(name)}">\n' + "\n".join(body) + "\n</scenario>\n"
    )


async def stop_sipp(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM (SIPp flushes its logs on the way out), SIGKILL after 5 s."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def agent_scenario(number: str, behaviour: Behaviour) -> str:
    """The phone's out-of-call (UAS) scenario: one run per INVITE (or OPTIONS) from Asterisk."""
    def r(status: str, *, cseq: str = "[last_CSeq:]", to_tag: bool = True, sdp: bool = False) -> str:
        return _response(status, cseq=cseq, to_tag=to_tag, sdp=sdp, number=number)

    cancelled = [
        _send(r("200 OK", to_tag=True)),  # to the CANCEL
        _send(r("487 Request Terminated", cseq="CSeq: [last_cseq_number] INVITE")),
        '  <recv request="ACK" next="end"/>',
    ]
    body = ['  <recv request="OPTIONS" optional="true" next="options"/>']
    if isinstance(behaviour, Reject):
        body += [
            '  <recv request="INVITE"/>',
            _send(r(f"{behaviour.code} {behaviour.reason}")),
            '  <recv request="ACK" next="end"/>',
        ]
    elif isinstance(behaviour, NeverAnswer):
        body += [
            '  <recv request="INVITE"/>',
            _send(r("180 Ringing")),
            f'  <recv request="CANCEL" timeout="{int(behaviour.give_up_seconds * 1000)}" ontimeout="give_up"/>',
            *cancelled,
            '  <label id="give_up"/>',
            _send(r("480 Temporarily Unavailable")),
            '  <recv request="ACK" next="end"/>',
        ]
    else:
        talks = behaviour.talk_seconds is not None
        extract = (
            "\n    <action>\n"
            '      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="peer"/>\n'
            '      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="me"/>\n'
            "    </action>\n  "
        ) if talks else ""
        body += [
            f'  <recv request="INVITE" rrs="true">{extract}</recv>',
            _send(r("180 Ringing")),
            f'  <recv request="CANCEL" timeout="{max(1, int(behaviour.after_seconds * 1000))}" ontimeout="answer"/>',
            *cancelled,
            '  <label id="answer"/>',
            _send(r("200 OK", sdp=True), retrans=True),
            '  <recv request="ACK"/>',
        ]
        if behaviour.speak:
            # A phone sends RTP for the whole call: the sample, repeated, for as long as it talks.
            speech = speech_pcap(int(1000 * (behaviour.talk_seconds or 0.0)) or 7080)
            body.append(f'  <nop><action><exec play_pcap_audio="{speech}"/></action></nop>')
        if behaviour.key is not None:
            body.append(f'  <pause milliseconds="{int(behaviour.key_after_seconds * 1000)}"/>')
            body.append(f'  <nop><action><exec play_pcap_audio="{PCAPS / DTMF_PCAPS[behaviour.key]}"/></action></nop>')
        if talks:
            assert behaviour.talk_seconds is not None
            body += [
                f'  <recv request="BYE" timeout="{max(1, int(behaviour.talk_seconds * 1000))}" ontimeout="hang_up"/>',
                _send(r("200 OK", to_tag=False), next_label="end"),
                '  <label id="hang_up"/>',
                # SIPp's [branch] repeats from one out-of-call call to the next: Asterisk would take this
                # phone's second BYE for a retransmission of its first. The Call-ID makes it unique.
                _send("\n".join("      " + line for line in [
                    "BYE [next_url] SIP/2.0",
                    "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]-[call_id]",
                    f"From: [$me];tag={_AGENT_TAG}",
                    "To: [$peer]",
                    "Call-ID: [call_id]",
                    "CSeq: [cseq] BYE",
                    f"Contact: <sip:{number}@[local_ip]:[local_port];transport=[transport]>",
                    "Max-Forwards: 70",
                    "Content-Length: 0",
                ]), retrans=True),
                '  <recv response="200" next="end"/>',
            ]
        else:
            body += [
                '  <recv request="BYE"/>',
                _send(r("200 OK", to_tag=False), next_label="end"),
            ]
    body += [
        '  <label id="options"/>',
        _send(r("200 OK")),
        '  <label id="end"/>',
    ]
    return _xml(f"callcore agent {number}", body)


@dataclass
class AgentCall:
    """One INVITE an agent phone received, as its message log tells it (retransmissions collapsed)."""

    call_id: str
    arrived_at: float  # epoch seconds: when the INVITE reached the phone
    from_user: str
    from_name: str
    pai_user: str | None  # the P-Asserted-Identity's user, when Asterisk sent one
    to_user: str = ""  # the Request-URI's user: the number dialled (a trunk's calls)
    answered_at: float | None = None  # when the phone sent its 200 OK
    # When the call was over at the phone: Asterisk's ACK of the phone's 4xx, or the 200 OK to
    # either side's BYE (so a test waiting for it sees every message of the call).
    ended_at: float | None = None
    # "ringing", "talking", "cancelled" (Asterisk CANCELed), "rejected" (the phone refused),
    # "bye_received" (Asterisk hung up), "bye_sent" (the phone hung up), "gave_up" (480 after
    # NeverAnswer's bound)
    outcome: str = "ringing"
    sent: list[str] = field(default_factory=list)  # the phone's responses to the INVITE: ["180", "200"], ["486"]...
    received: list[str] = field(default_factory=list)  # Asterisk's requests in the call: INVITE, CANCEL, ACK, BYE

    @property
    def caller(self) -> str:
        """The caller-id number the phone shows: the P-Asserted-Identity's, else the From's."""
        return self.pai_user or self.from_user

    @property
    def ended(self) -> bool:
        return self.ended_at is not None


_SEPARATOR = re.compile(r"^-{47}(?: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}))?\n", re.M)
_URI_USER = re.compile(r"sips?:([^@;>:]+)@")


def _header(msg: str, name: str) -> str | None:
    for line in msg.split("\n"):
        if not line.strip():
            return None  # the end of the headers
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    return None


def _name_and_user(value: str | None) -> tuple[str, str]:
    if not value:
        return "", ""
    m = _URI_USER.search(value)
    name = value.split("<", 1)[0].strip().strip('"') if "<" in value else ""
    return name, m.group(1) if m else ""


def parse_message_log(text: str) -> list[tuple[float, str, str]]:
    """SIPp's ``-trace_msg`` log as (epoch seconds, "sent" | "received", message), complete ones only.

    SIPp writes each message with its local time to the microsecond and flushes it at once.
    """
    out: list[tuple[float, str, str]] = []
    marks = list(_SEPARATOR.finditer(text))
    for i, m in enumerate(marks):
        if not m.group(1):  # "Unexpected ..." / "Ignoring ..." notes repeat a message already logged
            continue
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        head, _, msg = text[m.end():end].replace("\r\n", "\n").partition("\n")
        msg = msg.lstrip("\n")
        if i + 1 == len(marks) and "\n\n" not in msg:
            continue  # the last one, its headers still being written
        direction = "sent" if "message sent" in head else "received"
        at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        out.append((at, direction, msg))
    return out


def agent_calls(messages: list[tuple[float, str, str]]) -> list[AgentCall]:
    """The INVITEs in a phone's message log, in the order they arrived, each with how it went."""
    calls: dict[str, AgentCall] = {}
    seen: set[tuple[str, ...]] = set()
    for at, direction, msg in messages:
        call_id = _header(msg, "Call-ID") or ""
        first = msg.split("\n", 1)[0].strip()
        cseq = _header(msg, "CSeq") or ""
        method = cseq.split()[-1] if cseq else ""
        if direction == "received" and first.startswith("INVITE ") and call_id not in calls:
            from_name, from_user = _name_and_user(_header(msg, "From"))
            pai = _header(msg, "P-Asserted-Identity")
            uri = _URI_USER.search(first)
            calls[call_id] = AgentCall(call_id, at, from_user, from_name, _name_and_user(pai)[1] or None,
                                       to_user=uri.group(1) if uri else "")
        call = calls.get(call_id)
        key = (call_id, direction, first, cseq)
        if call is None or key in seen:  # not a call's, or a retransmission
            continue
        seen.add(key)
        response = first.startswith("SIP/2.0")
        code = first.split()[1] if response else ""
        if direction == "received" and not response:
            call.received.append(method)
            if method == "CANCEL" and call.outcome == "ringing":
                call.outcome = "cancelled"
            elif method == "BYE" and call.outcome == "talking":
                call.outcome = "bye_received"
            elif method == "ACK" and call.sent and call.sent[-1] >= "300":  # the ACK of a 4xx
                call.ended_at = call.ended_at or at
        elif direction == "sent" and response and method == "INVITE":
            call.sent.append(code)
            if code == "200":
                call.answered_at, call.outcome = at, "talking"
            elif code >= "300" and call.outcome == "ringing":
                call.outcome = "gave_up" if code == "480" else "rejected"
        elif direction == "sent" and not response and method == "BYE" and call.outcome == "talking":
            call.outcome = "bye_sent"
        elif response and method == "BYE" and code == "200":  # either side's BYE answered
            call.ended_at = call.ended_at or at
    return sorted(calls.values(), key=lambda c: c.arrived_at)


class _LoggedPhone:
    """What every SIPp phone here shares: its message logs, read back as the calls it received."""

    _logs: list[Path]

    def _file(self, suffix: str) -> Path:
        raise NotImplementedError

    def calls(self) -> list[AgentCall]:
        """Every INVITE the phone received so far (over all its runs), oldest first."""
        out: list[AgentCall] = []
        for log in self._logs:
            if log.exists():
                out += agent_calls(parse_message_log(log.read_text(encoding="utf-8", errors="replace")))
        return out

    async def wait_calls(self, n: int, *, ended: bool = True, timeout: float = 10) -> list[AgentCall]:
        """Polls (bounded) until ``n`` INVITEs arrived and, with ``ended``, all of them are over."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            calls = self.calls()
            if len(calls) >= n and (not ended or all(c.ended for c in calls)):
                return calls
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self!r}: expected {n} calls{' ended' if ended else ''}, have {calls}\n{self.diagnostics()}")
            await asyncio.sleep(0.05)

    def diagnostics(self) -> str:
        """The tail of SIPp's error log and message log, for assertion messages."""
        parts = []
        last = self._logs[-1] if self._logs else self._file("messages.log")
        for p in (last.with_name(last.name.replace("messages.log", "errors.log")), last):
            if p.exists():
                parts.append(f"--- {p.name}\n" + p.read_text(encoding="utf-8", errors="replace")[-3000:])
        return "\n".join(parts)


class AgentPhone(_LoggedPhone):
    """An agent's SIP phone: registered to Asterisk's PJSIP endpoint ``number``, answering as ``behaviour``.

    ``async with AgentPhone(stack.sip, "1001", password, workdir=...)`` starts it and waits until
    Asterisk accepted the registration (each agent has a SIP password of its own: the one
    ``Stack.add_agent`` returned); leaving the block unregisters it and stops SIPp. ``refused()``
    tells whether Asterisk turned its credentials down. ``calls()`` reads what it received so far;
    ``wait_calls`` polls until a number of INVITEs have arrived (and ended). ``unregister()`` stops
    the phone and removes its contact; ``start()`` registers it again (with a new ``behaviour`` if
    given). Each start is a new SIPp process; the calls of every process this phone ran are kept.
    """

    def __init__(
        self, target: tuple[str, int], number: str, password: str, *, workdir: Path,
        behaviour: Behaviour | None = None, expires: int = 600,
    ) -> None:
        self.target = target
        self.number = number
        self.password = password
        self.workdir = workdir
        self.behaviour: Behaviour = behaviour or Answer()
        self.expires = expires
        self.sip_port, self.media_port = free_udp_pair()
        self.proc: asyncio.subprocess.Process | None = None
        self._runs = 0
        self._logs: list[Path] = []

    def __repr__(self) -> str:
        return f"AgentPhone({self.number} at 127.0.0.1:{self.sip_port}, {self.behaviour})"

    async def __aenter__(self) -> AgentPhone:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        try:
            await self.unregister()
        except AssertionError:
            if exc_type is None:  # do not hide the test's own failure behind the clean-up's
                raise

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def _file(self, suffix: str) -> Path:
        return self.workdir / f"agent_{self.number}_{self.sip_port}_{self._runs}_{suffix}"

    async def start(self, behaviour: Behaviour | None = None, *, timeout: float = 10) -> None:
        """Runs the phone and waits (bounded) for the 200 OK to its REGISTER."""
        if self.running:
            await self.stop()
        if behaviour is not None:
            self.behaviour = behaviour
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._runs += 1
        main, uas = self._file("register.xml"), self._file("uas.xml")
        main.write_text(_register_scenario(self.number, expires=self.expires, refresh_ms=self.expires * 1000 // 2), encoding="utf-8")
        uas.write_text(agent_scenario(self.number, self.behaviour), encoding="utf-8")
        messages, errors = self._file("messages.log"), self._file("errors.log")
        self._logs.append(messages)
        host, port = self.target
        with open(self._file("screen.log"), "ab") as screen:
            self.proc = await asyncio.create_subprocess_exec(
                SIPP, f"{host}:{port}", "-sf", str(main), "-oocsf", str(uas),
                "-i", "127.0.0.1", "-p", str(self.sip_port), "-mp", str(self.media_port),
                # A phone that speaks sends only its sample, as a real one sends one stream: echoing too
                # would interleave two RTP streams (two SSRCs) from one port, which Asterisk 22 does not
                # pass on to the caller (16 does).
                *(() if getattr(self.behaviour, "speak", False) else ("-rtp_echo",)),
                "-au", self.number, "-ap", self.password, "-m", "1", "-nostdin",
                "-trace_msg", "-message_file", str(messages), "-trace_err", "-error_file", str(errors),
                stdin=asyncio.subprocess.DEVNULL, stdout=screen, stderr=asyncio.subprocess.STDOUT, cwd=self.workdir,
            )
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._registered(messages):
            if not self.running or asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise AssertionError(f"{self!r} did not register in {timeout} s:\n{self.diagnostics()}")
            await asyncio.sleep(0.05)

    @staticmethod
    def _registered(messages: Path) -> bool:
        if not messages.exists():
            return False
        for _, direction, msg in parse_message_log(messages.read_text(encoding="utf-8", errors="replace")):
            if direction == "received" and msg.startswith("SIP/2.0 200") and (_header(msg, "CSeq") or "").endswith("REGISTER"):
                return True
        return False

    def refused(self) -> bool:
        """Whether Asterisk refused the phone's credentials: a 401/403 to a REGISTER that carried them
        (the first REGISTER's 401 is the challenge, not a refusal)."""
        for log in self._logs:
            if not log.exists():
                continue
            authorized = False
            for _, direction, msg in parse_message_log(log.read_text(encoding="utf-8", errors="replace")):
                if not (_header(msg, "CSeq") or "").endswith("REGISTER"):
                    continue
                if direction == "sent":
                    authorized = _header(msg, "Authorization") is not None
                elif authorized and msg.startswith(("SIP/2.0 401", "SIP/2.0 403")):
                    return True
        return False

    async def stop(self) -> None:
        """Stops SIPp (SIGTERM; SIPp flushes its logs on the way out). The contact stays registered."""
        if self.proc is None:
            return
        await stop_sipp(self.proc)
        self.proc = None

    async def unregister(self, *, timeout: float = 10) -> None:
        """Stops the phone and sends REGISTER with ``Contact: *`` and Expires: 0 from its port."""
        await self.stop()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._runs += 1
        xml = self._file("unregister.xml")
        xml.write_text(_register_scenario(self.number, expires=0, refresh_ms=None), encoding="utf-8")
        host, port = self.target
        proc = await asyncio.create_subprocess_exec(
            SIPP, f"{host}:{port}", "-sf", str(xml), "-i", "127.0.0.1", "-p", str(self.sip_port), "-mp", str(self.media_port),
            "-au", self.number, "-ap", self.password, "-m", "1", "-nostdin",
            "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err", "-error_file", str(self._file("errors.log")),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=self.workdir,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout + 5)
        except TimeoutError:
            proc.kill()
            out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise AssertionError(f"{self!r}: un-REGISTER failed ({proc.returncode}):\n{out.decode('utf-8', 'replace')[-3000:]}")

# -- what Asterisk sees -----------------------------------------------------------------------------

Cli = Callable[[str], Awaitable[str]]
_CONTACT = re.compile(r"^\s*Contact:\s+(\S+?)/(\S+)\s+\S+\s+(\S+)", re.M)


async def contacts(cli: Cli) -> dict[str, list[tuple[str, str]]]:
    """``pjsip show contacts``: for each AOR, its contacts as (URI, status: Avail, Unavail, NonQual, Unknown...)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for aor, uri, status in _CONTACT.findall(await cli("pjsip show contacts")):
        if aor.startswith("<"):  # the column headings
            continue
        out.setdefault(aor, []).append((uri, status))
    return out


async def wait_contact(cli: Cli, aor: str, *, status: str | None = "Avail", timeout: float = 10) -> list[tuple[str, str]]:
    """Polls Asterisk (bounded) until the AOR ``aor`` has a contact in ``status`` (None: until it has none).

    ``cli`` runs one Asterisk CLI command, e.g. the stack's ``Stack.cli``. Returns the AOR's contacts.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        now = (await contacts(cli)).get(aor, [])
        if (status is None and not now) or (status is not None and any(s == status for _, s in now)):
            return now
        if asyncio.get_running_loop().time() > deadline:
            want = "no contact" if status is None else f"a contact {status}"
            raise AssertionError(f"AOR {aor}: expected {want} within {timeout} s, have {now}")
        await asyncio.sleep(0.1)


def udp_bound(port: int) -> bool:
    """Whether a UDP socket is bound to 127.0.0.1:``port`` (or every address), from the kernel's table
    (``/proc/net/udp``: local address ``0100007F:<port hex>`` or ``00000000:<port hex>``)."""
    with open("/proc/net/udp", encoding="ascii") as fh:
        rows = [line.split() for line in fh.readlines()[1:]]
    return any(row[1] in (f"0100007F:{port:04X}", f"00000000:{port:04X}") for row in rows)


class TrunkPhone(_LoggedPhone):
    """The citizens' side of the outbound trunk (``asterisk.outbound_trunk``): one SIPp in server mode
    on the trunk's port that answers every INVITE Asterisk sends as ``behaviour`` says, whatever the
    number dialled (``AgentCall.to_user``). ``start(behaviour)`` again to change how it answers."""

    def __init__(self, port: int, *, workdir: Path, behaviour: Behaviour | None = None) -> None:
        self.sip_port = port
        self.media_port = port + 2
        self.workdir = workdir
        self.behaviour: Behaviour = behaviour or Answer()
        self.proc: asyncio.subprocess.Process | None = None
        self._runs = 0
        self._logs: list[Path] = []

    def __repr__(self) -> str:
        return f"TrunkPhone(127.0.0.1:{self.sip_port}, {self.behaviour})"

    async def __aenter__(self) -> TrunkPhone:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _file(self, suffix: str) -> Path:
        return self.workdir / f"trunk_{self.sip_port}_{self._runs}_{suffix}"

    async def start(self, behaviour: Behaviour | None = None) -> None:
        await self.stop()
        if behaviour is not None:
            self.behaviour = behaviour
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._runs += 1
        uas = self._file("uas.xml")
        uas.write_text(agent_scenario("citizen", self.behaviour), encoding="utf-8")
        messages = self._file("messages.log")
        self._logs.append(messages)
        with open(self._file("screen.log"), "ab") as screen:
            self.proc = await asyncio.create_subprocess_exec(
                SIPP, "-sf", str(uas), "-i", "127.0.0.1", "-p", str(self.sip_port), "-mp", str(self.media_port),
                "-rtp_echo", "-nostdin", "-trace_msg", "-message_file", str(messages), "-trace_err",
                "-error_file", str(self._file("errors.log")),
                stdin=asyncio.subprocess.DEVNULL, stdout=screen, stderr=asyncio.subprocess.STDOUT, cwd=self.workdir,
            )
        # Ready once SIPp has bound its SIP port (an INVITE sent before would be refused by the kernel).
        deadline = asyncio.get_running_loop().time() + 10
        while not udp_bound(self.sip_port):
            if self.proc.returncode is not None or asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self!r} did not start:\n{self.diagnostics()}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self.proc is not None:
            await stop_sipp(self.proc)
            self.proc = None
