"""Garbage-collector settings for a worker that holds hundreds of live voice sessions.

CPython's cycle collector runs in whichever thread happens to allocate, holding the GIL, so
every session's audio waits while it runs. With its defaults a worker collects its youngest
objects after every 700 net allocations, and under load a full collection, which scans every
object of the process, Django's modules included, came every few seconds. In bench/ one took
about 90 ms of CPU at 400 sessions storing turns, and frames arriving meanwhile waited as long
(p99 added delay of 140 to 210 ms, against 9 to 50 ms with these settings, over several runs;
once the writes allocated less, 13 against 6 ms over 4 s, and 144 to 173 against 8 to 9 ms over
8 s, a window that takes in a full collection). A steady worker makes almost no cyclic garbage
(none was found in a second of 200 sessions' audio and turns), so collecting rarely costs little
memory and removes those pauses.
"""

from __future__ import annotations

import gc


def tune_for_worker(threshold: int) -> None:
    """Freeze what start-up made and collect young objects only after `threshold` allocations.

    Frozen objects (the modules, settings and URL patterns) are never scanned again; start-up's
    own garbage is collected first so none of it is frozen. The older generations keep their
    thresholds, counted in collections of the generation below. A threshold of 0 leaves the
    collector as Python set it.
    """
    if threshold == 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(threshold, middle, oldest)
