"""The callers' speech: sip-tester's sample as one continuous stream, replayed (pcap) or streamed (rtp_stream)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import sipp
from harness.heard import ALAW


@pytest.fixture(autouse=True)
def own_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))


def test_the_raw_sample_is_the_pcaps_payloads_joined() -> None:
    raw = sipp.speech_alaw().read_bytes()
    # 236 packets of 30 ms, one A-law byte a sample at 8 kHz: the sample's length.
    assert len(raw) == sipp.SPEECH_SAMPLE_MS * 8 == 236 * 240
    samples = [ALAW[b] for b in raw]
    assert max(samples) - min(samples) > 10_000  # speech, not a constant (a header read as audio)
    assert sipp.speech_alaw() == sipp.speech_alaw()  # written once, then reused


def test_a_streamed_speech_loops_the_raw_sample_for_as_long_as_asked() -> None:
    xml = sipp.scenario([sipp.Speak(20_000, wait=False, via="stream")])
    assert f'<exec rtp_stream="{sipp.speech_alaw()},3,8"/>' in xml  # 3 x 7.08 s >= 20 s, payload type 8 (PCMA)
    assert "play_pcap_audio" not in xml and "<pause" not in xml
    replayed = sipp.scenario([sipp.Speak(3000)])
    assert f'play_pcap_audio="{sipp.speech_pcap(3000)}"' in replayed and '<pause milliseconds="3000"/>' in replayed
