"""The energy detector that stands in for server VAD."""

from __future__ import annotations

import numpy as np

from realtime.simulator.testing import noise, silence, tone
from realtime.simulator.vad import EnergyVad, VadEvent, voiced_span_ms


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2")


def test_it_reports_start_with_padding_and_stop_after_the_silence() -> None:
    vad = EnergyVad(24000, prefix_padding_ms=300, silence_duration_ms=500)
    events = vad.feed(samples(silence(1000) + tone(800) + silence(600)), floor_ms=0)
    assert events == [VadEvent("started", 700), VadEvent("stopped", 2300, speech_ms=800)]


def test_it_never_starts_before_the_buffer_floor() -> None:
    vad = EnergyVad(24000, prefix_padding_ms=300)
    events = vad.feed(samples(silence(100) + tone(300)), floor_ms=0)
    assert events == [VadEvent("started", 0)]


def test_events_do_not_depend_on_how_audio_is_chunked() -> None:
    pcm = silence(420) + tone(650) + silence(700)
    whole = EnergyVad(24000).feed(samples(pcm), floor_ms=0)
    chunked_vad = EnergyVad(24000)
    chunked = [
        event
        for start in range(0, len(pcm), 962)
        for event in chunked_vad.feed(samples(pcm[start : start + 962]), 0)
    ]
    assert chunked == whole


def test_quiet_noise_and_single_clicks_are_not_speech() -> None:
    vad = EnergyVad(24000)
    assert vad.feed(samples(noise(1000) + tone(20) + silence(500)), floor_ms=0) == []


def test_a_higher_threshold_ignores_quieter_speech() -> None:
    quiet = samples(tone(500, amplitude=0.05) + silence(600))  # about -29 dBFS
    assert EnergyVad(24000, threshold=0.5).feed(quiet, 0)
    assert EnergyVad(24000, threshold=0.9).feed(quiet, 0) == []


def test_short_pauses_do_not_end_the_turn() -> None:
    vad = EnergyVad(24000, silence_duration_ms=500)
    events = vad.feed(samples(tone(400) + silence(300) + tone(400) + silence(600)), floor_ms=0)
    assert [event.kind for event in events] == ["started", "stopped"]
    assert events[1].speech_ms == 1100


def test_semantic_vad_waits_according_to_eagerness() -> None:
    high = EnergyVad.from_turn_detection({"type": "semantic_vad", "eagerness": "high"}, 24000)
    low = EnergyVad.from_turn_detection({"type": "semantic_vad", "eagerness": "low"}, 24000)
    assert high.silence_duration_ms < low.silence_duration_ms


def test_voiced_span_measures_speech_in_committed_audio() -> None:
    assert voiced_span_ms(silence(200) + tone(700) + silence(200), 24000) == 700
    assert voiced_span_ms(silence(500), 24000) == 0
