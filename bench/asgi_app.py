"""The app as the benchmark serves it: `voiceproject.asgi.application`, unchanged by default.

`BENCH_PERSISTENCE=off` swaps the relay's recorder for one that stores nothing of the conversation,
to measure what persistence costs (the conversation row is still created when a session starts).
`BENCH_PYINSTRUMENT=<path>` profiles the whole server process and writes an HTML report to that
path at exit. Nothing here changes any code of the app itself.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
django.setup()


from conversations import services  # noqa: E402 (after django.setup)
from realtime.recorder import Recorder  # noqa: E402


class NullRecorder(Recorder):
    """The recorder, storing no conversation: turns, usage and the conversation's end are dropped.

    Other writes (the session leaving the live-session registry) still go through: a worker
    shutting down waits for them, so dropping them would only stall each phase's end.
    """

    def put(self, write: Any, /, **kwargs: Any) -> None:
        """Drop a write of `conversations.services`; queue anything else."""
        if getattr(write, "__module__", "") != services.__name__:
            super().put(write, **kwargs)


if os.environ.get("BENCH_PERSISTENCE") == "off":
    import realtime.relay

    realtime.relay.Recorder = NullRecorder  # type: ignore[misc,assignment]

if os.environ.get("BENCH_PYINSTRUMENT"):
    from pyinstrument import Profiler

    _profiler = Profiler(interval=0.0005, async_mode="disabled")
    _profiler.start()

    @atexit.register
    def _write_profile() -> None:
        _profiler.stop()
        with open(os.environ["BENCH_PYINSTRUMENT"], "w") as out:
            out.write(_profiler.output_html())


from voiceproject.asgi import application  # noqa: E402

__all__ = ["application"]
