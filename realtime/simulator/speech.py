"""The assistant's voice: espeak-ng when installed, otherwise syllable-like tone bursts."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import struct
import zlib

import numpy as np

logger = logging.getLogger(__name__)

SYLLABLE_MS = 140
SYLLABLE_GAP_MS = 20
WORD_GAP_MS = 60
PAUSE_MS = {",": 200, ";": 250, ":": 250, ".": 350, "!": 350, "?": 350}
_TOKENS = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z']+|[.,;:!?]")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+", re.IGNORECASE)


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in -1..1 to little-endian PCM16."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Linear-interpolation resampling; plenty for a test voice."""
    if source_rate == target_rate or not len(samples):
        return samples
    count = round(len(samples) * target_rate / source_rate)
    positions = np.arange(count) * (source_rate / target_rate)
    return np.interp(positions, np.arange(len(samples)), samples)


def _syllables(token: str) -> int:
    if token[0].isdigit():
        return sum(ch.isdigit() for ch in token)
    return max(1, len(_VOWEL_GROUPS.findall(token)))


def _burst(duration_s: float, f0: float, rate: int) -> np.ndarray:
    t = np.arange(int(duration_s * rate)) / rate
    # A falling pitch glide with a few harmonics reads as a voiced syllable.
    phase = 2 * np.pi * np.cumsum(f0 * (1.08 - 0.16 * t / max(duration_s, 1e-6))) / rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 5))
    return 0.22 * wave * np.sin(np.pi * t / max(duration_s, 1e-6)) ** 0.6


def tone_speech(text: str, *, rate: int = 24000, voice: str = "alloy") -> bytes:
    """Deterministic speech-like audio whose length follows the text's syllables and pauses."""
    # The voice name picks a stable pitch, so different voices sound different.
    f0 = 110.0 + zlib.crc32(voice.encode()) % 110
    pieces = [np.zeros(rate * 40 // 1000)]
    for token in _TOKENS.findall(text):
        if token in PAUSE_MS:
            pieces.append(np.zeros(rate * PAUSE_MS[token] // 1000))
            continue
        for _ in range(_syllables(token)):
            pieces.append(_burst(SYLLABLE_MS / 1000, f0, rate))
            pieces.append(np.zeros(rate * SYLLABLE_GAP_MS // 1000))
        pieces.append(np.zeros(rate * WORD_GAP_MS // 1000))
    return to_pcm16(np.concatenate(pieces))


def parse_wav(data: bytes) -> tuple[np.ndarray, int] | None:
    """Mono float samples and rate from a PCM16 WAV; espeak's streamed header has no valid sizes."""
    fmt = data.find(b"fmt ")
    body = data.find(b"data")
    if data[:4] != b"RIFF" or fmt < 0 or body < 0:
        return None
    channels, rate = struct.unpack_from("<HI", data, fmt + 10)
    samples = np.frombuffer(data[body + 8 : body + 8 + (len(data) - body - 8) // 2 * 2], dtype="<i2")
    if channels > 1:
        samples = samples[: len(samples) // channels * channels].reshape(-1, channels)[:, 0]
    return samples.astype(np.float64) / 32768.0, rate


async def espeak_speech(executable: str, text: str, *, rate: int) -> bytes | None:
    """Run espeak-ng on `text` (through stdin, so no text is read as an option); None on failure."""
    process = await asyncio.create_subprocess_exec(
        executable,
        "--stdout",
        "-v",
        "en-us",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(20):
            output, _ = await process.communicate(text.encode())
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    parsed = parse_wav(output) if process.returncode == 0 else None
    if parsed is None or not len(parsed[0]):
        return None
    return to_pcm16(resample(parsed[0], parsed[1], rate))


async def synthesize(text: str, *, rate: int = 24000, voice: str = "alloy", use_espeak: bool = True) -> bytes:
    """Mono PCM16 at `rate` speaking exactly `text`."""
    executable = shutil.which("espeak-ng") if use_espeak else None
    if executable:
        try:
            pcm = await espeak_speech(executable, text, rate=rate)
        except (OSError, TimeoutError):
            logger.debug("espeak-ng failed; using the tone voice", exc_info=True)
            pcm = None
        if pcm:
            return pcm
    return tone_speech(text, rate=rate, voice=voice)
