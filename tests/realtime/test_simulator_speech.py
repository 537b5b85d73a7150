"""The assistant voice: espeak-ng when present, tone bursts otherwise."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from realtime.simulator.speech import parse_wav, synthesize, tone_speech


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, dtype="<i2").astype(np.float64) ** 2)))


def test_the_tone_voice_is_audible_pcm16() -> None:
    pcm = tone_speech("Hello there, how are you?")
    assert len(pcm) % 2 == 0
    assert rms(pcm) > 1000


def test_the_tone_voice_gets_longer_with_longer_text() -> None:
    short = tone_speech("Hi.")
    long = tone_speech("Hello there, this is a much longer sentence with many more syllables.")
    assert len(long) > 3 * len(short)


def test_the_tone_voice_has_a_speech_like_pace() -> None:
    seconds = len(tone_speech("I heard you speak for 1.4 seconds.")) / 48000
    assert 1.5 < seconds < 4.0


def test_the_tone_voice_is_deterministic_and_follows_the_rate() -> None:
    assert tone_speech("Same words") == tone_speech("Same words")
    assert abs(len(tone_speech("Same words", rate=16000)) * 3 - len(tone_speech("Same words")) * 2) < 200


async def test_synthesize_uses_the_tone_voice_when_espeak_is_off() -> None:
    assert await synthesize("Hello.", use_espeak=False) == tone_speech("Hello.")


FAKE_ESPEAK = """
    import struct, sys
    import numpy as np
    text = sys.stdin.read()
    # One second per ten characters of a 22050 Hz tone, with the bogus sizes of a streamed WAV.
    samples = (0.3 * np.sin(np.arange(22050 * len(text) // 10) * 0.05) * 32767).astype("<i2")
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 22050, 44100, 2, 16)
    header = b"RIFF" + struct.pack("<I", 0x7FFFFFFF) + b"WAVEfmt " + fmt
    sys.stdout.buffer.write(header + b"data" + struct.pack("<I", 0x7FFFFFFF) + samples.tobytes())
    sys.exit(int("fail" in text))
"""


@pytest.fixture
def fake_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "espeak-ng"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(FAKE_ESPEAK))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


async def test_espeak_output_is_read_through_stdin_and_resampled_to_24khz(fake_espeak: None) -> None:
    pcm = await synthesize("-v twenty chars long", rate=24000)
    assert len(pcm) == 2 * 48000
    assert rms(pcm) > 1000


async def test_a_failing_espeak_falls_back_to_the_tone_voice(fake_espeak: None) -> None:
    assert await synthesize("please fail", rate=24000) == tone_speech("please fail")


def test_a_streamed_wav_header_is_parsed_despite_bogus_sizes() -> None:
    header = b"RIFF\xff\xff\xff\xffWAVEfmt " + (16).to_bytes(4, "little")
    header += (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (22050).to_bytes(4, "little")
    header += (44100).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    wav = header + b"data\xff\xff\xff\xff" + np.array([0, 16384, -16384], dtype="<i2").tobytes()
    samples, rate = parse_wav(wav)
    assert rate == 22050
    assert samples.tolist() == [0.0, 0.5, -0.5]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_real_espeak_output_is_audible_24khz_pcm() -> None:
    pcm = await synthesize("Hello, this is a test.", rate=24000)
    seconds = len(pcm) / 48000
    assert pcm != tone_speech("Hello, this is a test.")
    assert 0.5 < seconds < 5.0
    assert rms(pcm) > 300
