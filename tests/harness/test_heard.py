"""harness/heard.py on audio made here: G.711 decoding, RTP laid out on a timeline, and the check that
a caller heard each prompt whole, in order, at its level — and that silence or the wrong audio fails."""

from __future__ import annotations

import array
import asyncio
import math
import random
import socket
import struct
from pathlib import Path

import pytest

from callcore.prompts.audio import G711_ENCODERS
from callcore.prompts.synth import ensure_prompt
from callcore.prompts.system import SYSTEM_PROMPTS
from harness import heard
from harness.heard import FRAME, RATE, NotHeard, Prompt, RtpPacket

WELCOME = SYSTEM_PROMPTS["welcome"]


def speechlike(seed: int, seconds: float) -> array.array[int]:
    """Syllables of a voice-like tone (random lengths, pitches and loudness), with pauses: a prompt's rhythm."""
    rng = random.Random(seed)
    out = array.array("h")
    while len(out) < seconds * RATE:
        n, f, a = int(rng.uniform(0.12, 0.3) * RATE), rng.uniform(150, 300), rng.uniform(3000, 12000)
        out.extend(int(a * math.sin(math.pi * i / n) * math.sin(2 * math.pi * f * i / RATE)) for i in range(n))
        out.extend([0] * int(rng.choice((0.02, 0.05, 0.15, 0.3)) * RATE))
    out.extend([0] * int(0.3 * RATE))  # espeak-ng ends its prompts with ~0.3 s of silence
    return out


def silence(seconds: float) -> array.array[int]:
    return array.array("h", [0] * int(seconds * RATE))


def music(seconds: float) -> array.array[int]:
    """A steady chord, as music on hold would be between prompts."""
    return array.array("h", (int(4000 * (math.sin(2 * math.pi * 262 * i / RATE) + math.sin(2 * math.pi * 330 * i / RATE)))
                             for i in range(int(seconds * RATE))))


def nothing(seconds: float) -> array.array[int]:
    """Where no packet came: ``pcm`` writes zeros, which no A-law sample decodes to."""
    return silence(seconds)


def wav(tmp_path: Path, name: str, *parts: array.array[int]) -> Path:
    """A prompt file: the samples as they are."""
    samples = array.array("h")
    for p in parts:
        samples.extend(p)
    return heard.write_wav(samples, tmp_path / f"{name}.wav")


def capture(tmp_path: Path, name: str, *parts: array.array[int]) -> Path:
    """What a caller's sink writes: the audio as it comes through an A-law line (``nothing`` stays zeros)."""
    samples = array.array("h")
    for p in parts:
        if any(p):
            p = array.array("h", (heard.ALAW[b] for b in G711_ENCODERS["alaw"](p.tobytes(), 2)))
        samples.extend(p)
    return heard.write_wav(samples, tmp_path / f"{name}.wav")


@pytest.fixture
def prompts(tmp_path: Path) -> tuple[Prompt, Prompt]:
    return (Prompt("A", wav(tmp_path, "prompt_a", speechlike(1, 4.0))),
            Prompt("B", wav(tmp_path, "prompt_b", speechlike(2, 3.0))))


# -- G.711 and RTP ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_g711_tables_decode_what_the_prompts_encoder_wrote(law: str) -> None:
    table = {"alaw": heard.ALAW, "ulaw": heard.ULAW}[law]
    encode = G711_ENCODERS[law]
    for code in range(256):
        # mu-law has a +0 and a -0; everything else comes back to the same code.
        assert table[ord(encode(struct.pack("<h", table[code]), 2))] == table[code], code
    assert heard.ALAW[0xD5] == 8 and heard.ALAW[0xAA] == 32256 and heard.ALAW[0x2A] == -32256
    assert heard.ULAW[0xFF] == 0 and heard.ULAW[0x80] == 32124


def packet(seq: int, ts: int, payload: bytes, *, pt: int = 8, ssrc: int = 7, at: float = 0.0) -> RtpPacket:
    return RtpPacket(at, pt, seq, ts, ssrc, payload)


def test_rtp_header_with_csrcs_an_extension_and_padding() -> None:
    data = (bytes([0x80 | 0x20 | 0x10 | 1, 0x80 | 8]) + struct.pack(">HII", 513, 160_000, 0xDEADBEEF)
            + b"CSRC" + struct.pack(">HH", 0xBEDE, 1) + b"EXTN" + b"\xd5" * 160 + b"\x00\x00\x03")
    p = heard.parse_rtp(data, 1.5)
    assert p == RtpPacket(1.5, 8, 513, 160_000, 0xDEADBEEF, b"\xd5" * 160)
    assert heard.parse_rtp(b"\x40" + bytes(20), 0) is None  # version 1
    assert heard.parse_rtp(b"\x80\x08", 0) is None


def test_packets_of_a_stream_lie_back_to_back_and_pauses_and_new_streams_by_arrival() -> None:
    loud, quiet = b"\xaa" * FRAME, b"\xd5" * FRAME
    samples = heard.pcm([
        packet(1, 0, loud, at=10.0),
        packet(2, 160, loud, at=10.031),  # late on the wire, still right after the first
        packet(3, 320, bytes([0x01, 0x80, 0, 0]), pt=101, at=10.04),  # a key: no samples
        packet(3, 8000, quiet, at=11.003),  # after a pause of the same stream: by arrival, on a 20 ms frame
        packet(900, 55, loud, ssrc=8, at=11.5),  # another stream (a bridge): by arrival
    ])
    assert len(samples) == 76 * FRAME
    assert set(samples[:2 * FRAME]) == {32256}
    assert set(samples[2 * FRAME:50 * FRAME]) == {0}
    assert set(samples[50 * FRAME:51 * FRAME]) == {8}
    assert set(samples[51 * FRAME:75 * FRAME]) == {0} and set(samples[75 * FRAME:]) == {32256}
    assert len(heard.pcm([packet(1, 0, loud, at=3.0), packet(2, 160, loud, at=3.02)])) == 2 * FRAME
    # The end of one file (a short packet) and the next file right after it in the same stream: the next
    # starts on a frame boundary, the gap holding the last sample heard (never 0: nothing arrived).
    end_of_file = heard.pcm([packet(1, 0, loud, at=1.0), packet(2, 160, b"\xaa" * 30 + b"\xd5" * 70, at=1.02),
                             packet(3, 230, quiet, at=1.04)])
    assert len(end_of_file) == 3 * FRAME and set(end_of_file[FRAME + 30:2 * FRAME]) == {8}
    assert set(end_of_file[2 * FRAME:]) == {8} and end_of_file[FRAME + 29] == 32256
    assert set(heard.pcm([packet(1, 0, loud, at=1.0), packet(5, 9999, loud, ssrc=9, at=1.0)])) == {32256}  # never overlap


async def test_a_real_prompt_sent_as_rtp_to_the_sink_is_heard(tmp_path: Path) -> None:
    """The whole path of a journey but Asterisk: the prompt's A-law twin (what Asterisk sends to an A-law
    caller) in 20 ms RTP packets, after music, to the sink; decoded, written, checked."""
    base = await ensure_prompt(WELCOME, tmp_path / "sounds")
    alaw = base.with_suffix(".alaw").read_bytes()
    moh = G711_ENCODERS["alaw"](music(0.6).tobytes(), 2)
    sink = await heard.RtpSink.open(0)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            for ssrc, audio in ((1, moh), (2, alaw)):
                for seq, i in enumerate(range(0, len(audio), FRAME)):
                    header = struct.pack(">BBHII", 0x80, 8, seq, seq * FRAME, ssrc)  # V=2, PCMA
                    out.sendto(header + audio[i:i + FRAME], ("127.0.0.1", sink.port))
                    await asyncio.sleep(0)  # lets the sink read: the socket's queue holds ~256 datagrams
            deadline = asyncio.get_running_loop().time() + 5
            while len(sink.packets) < (len(moh) + len(alaw)) // FRAME:
                assert asyncio.get_running_loop().time() < deadline, len(sink.packets)
                await asyncio.sleep(0.01)
    finally:
        sink.close()
    capture = heard.write_wav(heard.pcm(sink.packets), tmp_path / "heard.wav")
    [match] = heard.check(capture, [Prompt.of(WELCOME, tmp_path / "sounds", name="welcome")])
    assert match.similarity > 0.99 and match.at >= 0.6
    assert abs(match.heard_s - match.prompt_s) <= 0.04 and abs(match.heard_db - match.prompt_db) < 0.5
    stat = heard.sox_stat(capture)
    assert stat.length_s == pytest.approx((len(moh) + len(alaw)) / RATE, abs=0.2) and stat.rms > heard.SILENCE_RMS


# -- the check --------------------------------------------------------------------------------------------

def test_prompts_heard_whole_and_in_order_among_music_and_silence(tmp_path: Path, prompts: tuple[Prompt, Prompt]) -> None:
    a, b = prompts
    heard_wav = capture(tmp_path, "capture", music(1.0), silence(0.2), heard.read_wav(a.wav), silence(0.6),
                        heard.read_wav(b.wav), music(2.0))
    first, second = heard.check(heard_wav, [a, b])
    assert (first.prompt, second.prompt) == ("A", "B")
    a_s = len(heard.read_wav(a.wav)) / RATE
    assert first.at == pytest.approx(1.2, abs=0.02) and second.at == pytest.approx(1.2 + a_s + 0.6, abs=0.02)
    assert first.similarity > 0.99 and abs(first.heard_s - first.prompt_s) < 0.03


def test_a_silent_capture_fails(tmp_path: Path, prompts: tuple[Prompt, Prompt]) -> None:
    with pytest.raises(NotHeard, match="the caller heard silence"):
        heard.check(capture(tmp_path, "silent", silence(10.0)), [prompts[0]])
    with pytest.raises(NotHeard, match="the caller heard silence"):  # packets, but not one of them audible
        heard.check(capture(tmp_path, "hiss", array.array("h", (random.Random(3).randint(-40, 40) for _ in range(RATE * 8)))),
                    [prompts[0]])
    with pytest.raises(NotHeard, match="no audio reached the caller"):
        heard.check(capture(tmp_path, "nothing"), [prompts[0]])


def test_a_stall_on_the_line_is_a_hole_not_another_prompt(tmp_path: Path, prompts: tuple[Prompt, Prompt]) -> None:
    """Asterisk on a loaded machine paused 0.24 s in the middle of a prompt, then sent the rest late."""
    a = prompts[0]
    samples = heard.read_wav(a.wav)
    cut = 100 * FRAME
    [match] = heard.check(capture(tmp_path, "stall", music(0.5), samples[:cut], nothing(0.24), samples[cut:], silence(1.0)), [a])
    assert match.at == pytest.approx(0.5) and match.stalled_s == pytest.approx(0.24) and match.similarity > 0.99
    assert "0.24 s without audio" in str(match)


def test_music_alone_is_not_the_prompt(tmp_path: Path, prompts: tuple[Prompt, Prompt]) -> None:
    with pytest.raises(NotHeard, match="'A' not heard after 0.00 s"):
        heard.check(capture(tmp_path, "moh", music(8.0)), [prompts[0]])


def test_another_prompt_is_not_the_prompt(tmp_path: Path, prompts: tuple[Prompt, Prompt]) -> None:
    a, b = prompts
    with pytest.raises(NotHeard, match="'A' not heard"):
        heard.check(capture(tmp_path, "other", silence(0.5), heard.read_wav(b.wav), silence(5.0)), [a])


def test_a_prompt_cut_short_fails(tmp_path: Path, prompts: tuple[Prompt, Prompt]) -> None:
    a = prompts[0]
    samples = heard.read_wav(a.wav)
    with pytest.raises(NotHeard, match="'A' (heard for|not heard)"):
        heard.check(capture(tmp_path, "cut", silence(0.5), samples[:len(samples) * 6 // 10], silence(4.0)), [a])


def test_prompts_heard_in_another_order_fail(tmp_path: Path, prompts: tuple[Prompt, Prompt]) -> None:
    a, b = prompts
    ab = capture(tmp_path, "ab", heard.read_wav(a.wav), silence(0.5), heard.read_wav(b.wav), silence(1.0))
    heard.check(ab, [a, b])
    with pytest.raises(NotHeard, match=r"'A' not heard after [1-9]") as failed:
        heard.check(ab, [b, a])
    assert f"heard 'B' at {len(heard.read_wav(a.wav)) / RATE + 0.5:.2f} s" in str(failed.value)  # and what was heard


def test_a_faint_copy_of_the_prompt_fails(tmp_path: Path, prompts: tuple[Prompt, Prompt]) -> None:
    a = prompts[0]
    faint = array.array("h", (x // 10 for x in heard.read_wav(a.wav)))
    with pytest.raises(NotHeard, match=r"'A' heard at -\d+\.\d dBFS"):
        heard.check(capture(tmp_path, "faint", silence(0.3), faint, silence(0.3)), [a])


def test_sox_stat_reads_length_and_loudness(tmp_path: Path) -> None:
    tone = array.array("h", (int(16384 * math.sin(2 * math.pi * 400 * i / RATE)) for i in range(RATE)))
    stat = heard.sox_stat(wav(tmp_path, "tone", tone, silence(0.5)))
    assert stat.length_s == pytest.approx(1.5)
    assert stat.rms == pytest.approx(0.5 / math.sqrt(2) * math.sqrt(1 / 1.5), rel=0.01)
    assert stat.max_amplitude == pytest.approx(0.5, rel=0.01)
