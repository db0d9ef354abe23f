"""What a caller heard: the RTP Asterisk sends to a SIPp caller, kept, decoded and compared with prompts.

SIPp does not keep the audio it receives (``-rtp_echo`` only sends it back), so a caller that listens
gets an ``RtpSink``: the caller's SDP names the sink's port (``harness/sipp.py``), Asterisk sends the
call's RTP there, and the sink keeps every packet with the time it arrived. ``pcm`` lays the packets
out on one timeline (back to back within a stream, by arrival time after a pause or a new stream),
decodes G.711 to 8 kHz 16-bit samples (zeros where nothing arrived), and ``write_wav`` writes them
beside SIPp's files, where a person can listen to them (``sox FILE -n spectrogram`` draws them).

``check`` says whether the caller heard each expected prompt, in order. ``sox stat`` gives the whole
capture's length and RMS: a capture that is silence, or empty, fails before anything else. A prompt
is then found by the shape of its loudness: the RMS of each 20 ms frame (the packets Asterisk sends,
a file a frame at a time), slid along the capture's and compared by Pearson correlation (scale-free,
so the level is checked apart). Where it matches, the speech heard must last as long as the prompt's
own speech and be about as loud.
"""

from __future__ import annotations

import array
import asyncio
import math
import operator
import subprocess
import sys
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from callcore.prompts.synth import DEFAULT_VOICE, prompt_path

RATE = 8000
FRAME = 160  # samples in 20 ms: the packets Asterisk sends, and the frames loudness is measured on
FRAME_S = FRAME / RATE
# Below this a frame is not speech (espeak-ng's pauses are digital silence; its quietest syllables ~ -45).
SPEECH_FLOOR_DBFS = -50.0
# A capture whose sox RMS is below this heard nothing (the floor as an amplitude, 0..1).
SILENCE_RMS = 10 ** (SPEECH_FLOOR_DBFS / 20)
# The same audio gives ~1.0 (also through A-law and Asterisk); two prompts that differ in one syllable
# of twelve (三零零幺号话务员为您服务 and 三零零二号…) 0.87, other prompts of the same voice under 0.7.
MIN_SIMILARITY = 0.95
# Heard speech vs the prompt's: max(this, LENGTH_TOLERANCE_SHARE of the prompt's speech).
LENGTH_TOLERANCE_S = 0.2
LENGTH_TOLERANCE_SHARE = 0.05
LEVEL_TOLERANCE_DB = 3.0


# -- G.711 (ITU-T G.711; the tables of Sun's g711.c), by RTP payload type (RFC 3551) ----------------

def _alaw(code: int) -> int:
    code ^= 0x55
    t = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    if segment == 0:
        t += 8
    elif segment == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (segment - 1)
    return t if code & 0x80 else -t


def _ulaw(code: int) -> int:
    code = ~code & 0xFF
    t = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - t if code & 0x80 else t - 0x84


ALAW = tuple(_alaw(c) for c in range(256))
ULAW = tuple(_ulaw(c) for c in range(256))
DECODERS = {8: ALAW, 0: ULAW}  # PCMA, PCMU; telephone-event (101) and comfort noise carry no samples


# -- RTP ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RtpPacket:
    at: float  # arrival, monotonic seconds
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes


def parse_rtp(data: bytes, at: float) -> RtpPacket | None:
    """One RTP packet (RFC 3550 5.1: CSRCs, header extension, padding), or None for anything else."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    start = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        if len(data) < start + 4:
            return None
        start += 4 + 4 * int.from_bytes(data[start + 2:start + 4], "big")
    end = len(data) - (data[-1] if data[0] & 0x20 else 0)
    if start > end:
        return None
    return RtpPacket(at, data[1] & 0x7F, int.from_bytes(data[2:4], "big"), int.from_bytes(data[4:8], "big"),
                     int.from_bytes(data[8:12], "big"), data[start:end])


class RtpSink(asyncio.DatagramProtocol):
    """A UDP port that keeps every RTP packet sent to it (``await RtpSink.open(port)``; ``close()``)."""

    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []
        self.transport: asyncio.DatagramTransport | None = None
        self._clock = asyncio.get_running_loop().time

    @classmethod
    async def open(cls, port: int, host: str = "127.0.0.1") -> RtpSink:
        """Binds ``host:port`` (0: any free port; OSError when taken)."""
        transport, sink = await asyncio.get_running_loop().create_datagram_endpoint(cls, local_addr=(host, port))
        sink.transport = transport  # connection_made comes only at the loop's next turn
        return sink

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        packet = parse_rtp(data, self._clock())
        if packet is not None:
            self.packets.append(packet)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def pcm(packets: Sequence[RtpPacket]) -> array.array[int]:
    """The decoded samples of ``packets`` (in arrival order) on one timeline, zeros where none came.

    A packet that follows the previous one of its stream (same SSRC, next sequence number, timestamp
    just past its samples) goes right after it; any other (the first after a pause, a new stream after
    a bridge or a native RTP change) at its arrival time, rounded to a whole frame so frames stay
    aligned with the packets, and never before what is already laid out. A packet shorter than a frame
    is the end of a file (Asterisk reads files a frame at a time): its last sample is repeated to the
    frame's end, so the next file starts on a frame boundary as its own frames do (``loudness``).
    """
    out = array.array("h")
    first: float | None = None
    last: RtpPacket | None = None
    for p in packets:
        table = DECODERS.get(p.payload_type)
        if table is None or not p.payload:
            continue
        if first is None:
            first = p.at
        follows = (last is not None and p.ssrc == last.ssrc and p.seq == (last.seq + 1) % 65536
                   and p.timestamp == (last.timestamp + len(last.payload)) % 2 ** 32)
        if not follows:
            pos = max(len(out), round((p.at - first) * RATE / FRAME) * FRAME)
            out.extend(array.array("h", bytes(2 * (pos - len(out)))))
        out.extend(table[b] for b in p.payload)
        if len(out) % FRAME:
            out.extend([out[-1]] * (FRAME - len(out) % FRAME))
        last = p
    return out


# -- WAV files and sox ----------------------------------------------------------------------------------

def write_wav(samples: array.array[int], path: Path) -> Path:
    """8 kHz mono 16-bit WAV of ``samples``."""
    data = array.array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())
    return path


def read_wav(path: Path) -> array.array[int]:
    """The samples of an 8 kHz mono 16-bit WAV (what prompts and captures are); ValueError otherwise."""
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
            raise ValueError(f"{path}: not 8 kHz mono 16-bit ({w.getparams()})")
        data = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    return data


@dataclass(frozen=True)
class SoxStat:
    length_s: float
    rms: float  # 0..1 of full scale
    max_amplitude: float


def sox_stat(path: Path) -> SoxStat:
    """``sox PATH -n stat``: the file's length and loudness as sox measures them (it prints to stderr)."""
    proc = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"sox stat {path} failed: {proc.stderr.strip()}")
    figures = {" ".join(name.split()): value.strip() for name, sep, value in
               (line.partition(":") for line in proc.stderr.splitlines()) if sep}
    return SoxStat(float(figures["Length (seconds)"]), float(figures["RMS amplitude"]), float(figures["Maximum amplitude"]))


# -- loudness and matching ------------------------------------------------------------------------------

def loudness(samples: Sequence[int]) -> list[float]:
    """The RMS of each whole 20 ms frame."""
    return [math.sqrt(sum(map(operator.mul, f, f)) / FRAME)
            for f in (samples[i:i + FRAME] for i in range(0, len(samples) - FRAME + 1, FRAME))]


def dbfs(rms: float) -> float:
    return 20 * math.log10(rms / 32768) if rms > 0 else -math.inf


def speech_seconds(frames: Sequence[float]) -> float:
    """From the first frame of speech to the end of the last (0 when there is none)."""
    floor = 32768 * 10 ** (SPEECH_FLOOR_DBFS / 20)
    loud = [i for i, f in enumerate(frames) if f > floor]
    return (loud[-1] - loud[0] + 1) * FRAME_S if loud else 0.0


def level(frames: Sequence[float]) -> float:
    """The dBFS of the frames' overall RMS."""
    return dbfs(math.sqrt(sum(f * f for f in frames) / len(frames))) if frames else -math.inf


def similarities(haystack: Sequence[float], needle: Sequence[float], start: int = 0) -> list[float]:
    """Pearson correlation of ``needle`` with each window of ``haystack`` from ``start`` (index 0 is the
    window at ``start``); 0 where either does not vary (silence)."""
    m = len(needle)
    mean = sum(needle) / m
    centred = [x - mean for x in needle]
    norm = math.sqrt(sum(x * x for x in centred))
    out: list[float] = []
    if m == 0 or norm == 0:
        return [0.0] * max(0, len(haystack) - m - start + 1)
    s = sum(haystack[start:start + m])
    s2 = sum(x * x for x in haystack[start:start + m])
    for o in range(start, len(haystack) - m + 1):
        if o > start:
            gone, new = haystack[o - 1], haystack[o + m - 1]
            s, s2 = s - gone + new, s2 - gone * gone + new * new
        var = s2 - s * s / m
        out.append(sum(map(operator.mul, centred, haystack[o:o + m])) / (norm * math.sqrt(var))
                   if var > 1e-6 * m else 0.0)
    return out


@dataclass(frozen=True)
class Prompt:
    """A prompt the caller should hear: its name (for messages) and its WAV as Asterisk was given it."""

    name: str
    wav: Path

    @classmethod
    def of(cls, text: str, sounds_dir: Path, *, name: str | None = None, voice: str = DEFAULT_VOICE) -> Prompt:
        """The cached synthesis of ``text`` (``callcore.prompts.synth``: what the daemon played)."""
        return cls(name or text, prompt_path(text, sounds_dir, voice=voice).with_suffix(".wav"))


@dataclass(frozen=True)
class Match:
    prompt: str
    at: float  # seconds into the capture
    end: float  # where the prompt's file ended in the capture
    length_s: float  # the prompt file's length
    similarity: float
    heard_s: float  # speech heard where the prompt matched
    prompt_s: float  # the prompt's own speech
    heard_db: float
    prompt_db: float

    @property
    def stalled_s(self) -> float:
        """How long nothing arrived while the prompt played (a stall of the machine; 0 normally)."""
        return max(0.0, round(self.end - self.at - self.length_s, 2))

    def __str__(self) -> str:
        stalled = f", {self.stalled_s:.2f} s without audio" if self.stalled_s else ""
        return (f"{self.prompt!r} at {self.at:.2f} s: similarity {self.similarity:.3f}, speech {self.heard_s:.2f} s "
                f"(prompt {self.prompt_s:.2f} s), level {self.heard_db:.1f} dBFS (prompt {self.prompt_db:.1f}){stalled}")


class NotHeard(AssertionError):
    """The caller did not hear what was expected; the message says what was heard instead."""


def speech_heard(wav: Path, *, after: float = 0.0) -> float:
    """Seconds of speech (20 ms frames above the floor) in a capture from ``after`` seconds on: what a
    caller heard of a voice there is no prompt file of (an agent's)."""
    floor = 32768 * 10 ** (SPEECH_FLOOR_DBFS / 20)
    return sum(f > floor for f in loudness(read_wav(wav))[round(after / FRAME_S):]) * FRAME_S


def check(wav: Path, prompts: Sequence[Prompt]) -> list[Match]:
    """Each of ``prompts`` heard in ``wav`` (a capture), in this order, each one whole and at its level.

    Frames where nothing arrived are left out of the comparison: ``pcm`` fills them with zeros, which
    no A-law sample decodes to (its smallest step is 8). A stall of a loaded machine (Asterisk's RTP
    timestamps then jump, and the rest of the prompt comes late) leaves a hole in the caller's ear, not
    a different prompt; ``Match.stalled_s`` says how long the holes within a prompt were.

    Returns where each was heard; raises ``NotHeard`` at the first that was not (or when the capture is
    silence), with the capture's sox figures and every match so far.
    """
    stat = sox_stat(wav) if wav.stat().st_size > 44 else SoxStat(0.0, 0.0, 0.0)
    frames = loudness(read_wav(wav))
    arrived = [i for i, f in enumerate(frames) if f > 0]  # capture frame of each frame heard
    heard = [frames[i] for i in arrived]
    matches: list[Match] = []

    def seconds(k: int) -> float:
        """The capture time of heard frame ``k`` (its end for one past the last)."""
        return (arrived[k] if k < len(arrived) else arrived[-1] + 1 if arrived else 0) * FRAME_S

    def fail(why: str) -> NotHeard:
        found = "".join(f"\n  heard {m}" for m in matches)
        return NotHeard(f"{why}\n  capture {wav}: {stat.length_s:.2f} s, sox RMS {stat.rms:.4f}, "
                        f"max {stat.max_amplitude:.4f}{found}")

    if stat.rms < SILENCE_RMS:
        raise fail("the caller heard silence" if stat.length_s else "no audio reached the caller")
    start = 0
    for prompt in prompts:
        own = loudness(read_wav(prompt.wav))
        scores = similarities(heard, own, start)
        at = next((i for i, s in enumerate(scores) if s >= MIN_SIMILARITY), None)
        if at is None:
            best = max(range(len(scores)), key=scores.__getitem__, default=None)
            where = f"best {scores[best]:.3f} at {seconds(start + best):.2f} s" if best is not None else "capture too short"
            raise fail(f"{prompt.name!r} not heard after {seconds(start):.2f} s ({where}; needs {MIN_SIMILARITY})")
        while at + 1 < len(scores) and scores[at + 1] > scores[at]:  # the peak of this occurrence
            at += 1
        first, end = start + at, start + at + len(own)
        window = heard[first:end]
        match = Match(prompt.name, seconds(first), arrived[end - 1] * FRAME_S + FRAME_S, len(own) * FRAME_S, scores[at],
                      speech_seconds(window), speech_seconds(own), level(window), level(own))
        matches.append(match)
        tolerance = max(LENGTH_TOLERANCE_S, LENGTH_TOLERANCE_SHARE * match.prompt_s)
        if abs(match.heard_s - match.prompt_s) > tolerance:
            raise fail(f"{prompt.name!r} heard for {match.heard_s:.2f} s, the prompt speaks {match.prompt_s:.2f} s")
        if abs(match.heard_db - match.prompt_db) > LEVEL_TOLERANCE_DB:
            raise fail(f"{prompt.name!r} heard at {match.heard_db:.1f} dBFS, the prompt is {match.prompt_db:.1f}")
        start = end
    return matches
