"""What a run measures: the variants of the fixed-load phases, the capacity searches and the
collector comparison, in a run of `make bench`, `make bench-full` (`--full`) or `--quick`."""

from __future__ import annotations

FIXED_VARIANTS = {
    100: [
        "tcp-proxy",
        "bare",
        "bare-nodeflate",
        "daphne",
        "uvicorn-nodeflate",
        # Persistence off is measured side by side with it on (bench.persistence) only: phases
        # minutes apart differ mostly by the machine's drift.
        "daphne+turns",
        "uvicorn-nodeflate+turns",
    ],
    20: ["tcp-proxy", "bare-nodeflate", "daphne", "uvicorn-nodeflate"],
}
# With --full: the evidence behind the README's settings (permessage-deflate off, uvloop) and
# the worst case of turns.
FULL_VARIANTS = {
    100: ["uvicorn", "uvicorn-nodeflate-asyncio", "uvicorn-nodeflate+aligned-turns"],
    20: [],
}
# At 20 ms frames a second holds five times the frames it does at 100 ms: half the fixed window
# still holds two and a half times as many frames, so its p99 rests on more of them.
WINDOW_SHARE_20MS = 0.5
CAPACITY_VARIANTS = [
    "bare",
    "bare-nodeflate",
    "daphne",
    "uvicorn-nodeflate",
    "uvicorn-nodeflate+turns",
]
# Compared back to back at the persistence pairs' load, which the server holds whatever the
# machine's speed that day.
GC_VARIANTS = ["uvicorn-nodeflate+turns", "uvicorn-nodeflate+turns-pythongc"]
QUICK_VARIANTS = ["bare", "daphne", "uvicorn-nodeflate", "daphne+turns"]

# The persistence pairs (bench.persistence): (persistence on, off, how many pairs). Every run
# measures full turns every 2 s, a stress rate, where the costs come nearest the target;
# --full adds a turn every 6 s, the brisk end of spoken conversation, whose costs sit several
# points under it (a pair is one more 4 s window of both servers).
PERSISTENCE_SETS = [("uvicorn-nodeflate+turns", "uvicorn-nodeflate+turns-nopersist", 5)]
FULL_PERSISTENCE_SETS = [
    ("uvicorn-nodeflate+slow-turns", "uvicorn-nodeflate+slow-turns-nopersist", 3),
]

# The variants only a full run measures (its collector phases are marked `gc`).
FULL_ONLY = {name for names in FULL_VARIANTS.values() for name in names} | {
    name for on, off, _ in FULL_PERSISTENCE_SETS for name in (on, off)
}
