"""docs/benchmarks.md and its chart, from bench/results/results.json.

python -m bench.report [results.json] [docs/benchmarks.md]   # re-render without measuring
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.persistence import OFF, ON, SATURATED
from bench.plan import FULL_ONLY
from bench.runner import LATE_MS, ROOT, SLOW_TURN_MS, THRESHOLD_MS, VARIANTS

CHART_VARIANTS = [
    "tcp-proxy",
    "bare",
    "bare-nodeflate",
    "daphne",
    "uvicorn-nodeflate",
    "daphne+turns",
    "daphne+turns-nopersist",
    "uvicorn-nodeflate+turns",
    "uvicorn-nodeflate+turns-nopersist",
]
LATENCY_VARIANTS = (
    "daphne",
    "uvicorn-nodeflate",
    "daphne+turns",
    "uvicorn-nodeflate+turns",
    "uvicorn-nodeflate+aligned-turns",
)
TARGETS = {"p50_ms": 1.0, "p99_ms": 5.0, "capacity_ratio": 1.5, "persistence_cost": 0.10, "mib": 1.0}


def write(results: dict[str, Any], doc: Path, raw_dir: Path | None = None) -> None:
    """Render the markdown and the PNG next to it; profiles are re-read from `raw_dir` when given."""
    if raw_dir is not None:
        from bench.profiling import summarize

        for prof in results.get("profiles") or []:
            raw = raw_dir / prof.get("raw", f"profile-{prof['variant']}.txt")
            if raw.exists():
                prof.update(summarize(raw))
    chart = doc.with_suffix(".png")
    render_chart(results, chart)
    doc.write_text(render(results, chart.name))


LEGACY_GC_SESSIONS = 400  # where runs before the `gc` marks compared the collector settings


def counted(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The phases that count: not superseded by a re-measurement, not profiled, not a persistence
    pair or collector comparison."""
    return [
        p
        for p in results["phases"]
        if not p.get("superseded") and not p.get("profiled") and not p.get("paired") and not p.get("gc")
    ]


def _fixed_seconds(results: dict[str, Any]) -> float:
    """The fixed-load phases' window (runs before it had its own used one window throughout)."""
    settings = results["settings"]
    return float(settings.get("fixed_seconds", settings["seconds"]))


def _pair_seconds(results: dict[str, Any]) -> float:
    """The persistence pairs' window (runs before it had its own used the capacity steps')."""
    settings = results["settings"]
    return float(settings.get("pair_seconds", settings["seconds"]))


NUMBERS = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight"}


def _pair_sets_text(results: dict[str, Any]) -> str:
    """How many pairs ran at which turn rate, for the method section: 'Five pairs (4 s windows
    of both, ...) with a full turn every 2 s; `make bench-full` adds ...'."""
    sets = paired_sets(results)
    if not sets:
        return "No pairs ran in this run."
    counts = [NUMBERS.get(len(p["pairs"]), str(len(p["pairs"]))) for p in sets]
    text = (
        f"{counts[0]} pairs ({_pair_seconds(results):g} s windows of both, after one that opens the"
        f" sessions and is not counted) with {_turn_rate(sets[0])}"
    )
    for count, paired in zip(counts[1:], sets[1:], strict=True):
        text += f", then {count.lower()} more with {_turn_rate(paired)}"
    slow = any(VARIANTS[p["on"]].turn_ms == SLOW_TURN_MS for p in sets)
    if slow:
        return text + f" ({SLOW_TURN_MS // 1000} s: the brisk end of spoken conversation)."
    return text + (
        f"; `make bench-full` adds pairs with a full turn every {SLOW_TURN_MS // 1000} s, the brisk"
        " end of spoken conversation, where the same sessions write a third as often."
    )


def _window_20ms_text(results: dict[str, Any]) -> str:
    """How long the 20 ms frames' phases streamed, where it differs from the 100 ms ones'."""
    windows = {
        round(p["measured_s"]) for p in counted(results) if p.get("frame_ms") == 20 and p.get("measured_s")
    }
    if not windows or windows == {round(_fixed_seconds(results))}:
        return ""
    return f" ({'/'.join(f'{w:g}' for w in sorted(windows))} s at 20 ms frames, five times as many a second)"


def find(results: dict[str, Any], variant: str, sessions: int, frame_ms: int) -> dict[str, Any] | None:
    for p in counted(results):
        if p["variant"] == variant and p["sessions"] == sessions and p["frame_ms"] == frame_ms:
            return p
    return None


def render(results: dict[str, Any], chart_name: str) -> str:
    n = results["settings"]["sessions"]
    m = results["machine"]
    out = [
        "# Relay benchmark",
        "",
        "What users feel of the relay is the delay it adds to every audio frame and how many",
        "conversations one worker holds. Both are measured here on loopback against the same upstream",
        "stand-in, in one run, for the app under daphne and under uvicorn, for a bare relay written",
        "the way the simplest public bridges are, for a byte-for-byte TCP forwarder (the floor any",
        "relay pays on this machine), and for clients talking to the stand-in directly.",
        "",
        "This file is generated by `make bench` or `make bench-full` (`bench/report.py`); do not edit",
        "it by hand.",
        "",
        "## Machine and command",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; Python {m['python']}; {m['platform']}",
        "- pinned: "
        + ("app server on core 0, stand-in and clients on core 1 (taskset)" if m["pinned"] else "no"),
        f"- command: `{results['command']}`"
        + (f" (`python -m bench {results['argv']}`)" if results.get("argv") else ""),
        f"- finished {results['finished']}, took {results['duration_s'] / 60:.1f} min;"
        f" each phase streams {_fixed_seconds(results):g} s measured at the fixed loads"
        + _window_20ms_text(results)
        + (" and in the collector comparison" if results["settings"].get("gc_sessions") else "")
        + " and"
        f" {results['settings']['seconds']:g} s in the capacity searches"
        + f" and {_pair_seconds(results):g} s in the persistence pairs, {_warmups_text(results)}",
        "- database: a fresh SQLite file (`bench/results/bench.sqlite3`), persistence on unless said;"
        " in-memory channel layer; `DEBUG=0`, `LOG_LEVEL=INFO`",
        "",
        f"Rerun: `{results['command']}` (about {results['duration_s'] / 60:.0f} minutes here;"
        " raw numbers in `bench/results/results.json`,"
        " server logs in `bench/results/logs/`), or `.venv/bin/python -m bench --quick` for a smoke test.",
        "`make bench` measures every target; `make bench-full` adds the phases behind the",
        "recommendations (the app under uvicorn with permessage-deflate, asyncio's loop against",
        "uvloop, turns aligned in a burst, the collector settings) and py-spy profiles of the app.",
        "",
        "## How it is measured",
        "",
        "- **Clients** (one process, `bench/load.py`) stream 24 kHz PCM16 in real time, each on its own",
        "  schedule (start times spread over one frame), in 100 ms frames (4,800 bytes) or 20 ms frames",
        "  (960 bytes). The first 18 bytes of every frame carry its sequence number, its session and",
        "  the time it was sent. Clients authenticate with DRF tokens and send no Origin.",
        "- **Upstream stand-in** (`bench/standin.py`) speaks just enough OpenAI GA: `session.created`,",
        "  `session.updated`, and every `input_audio_buffer.append` answered at once by a",
        "  `response.output_audio.delta` with the same audio, a stable `item_id` per turn. With",
        "  **full turns** it also plays, every 2 s of audio per session, a GA turn's events in the",
        "  protocol's order, spread over the turn as a conversation's are: at its start",
        "  `speech_started` (after the previous answer's parts close and its `response.done` with",
        "  usage); a fifth of the turn later the user stops (`speech_stopped`, `committed`, the user",
        "  item added and done) and the answer starts (response, output item, assistant item,",
        "  content part); at 35% the user's transcript, with usage; a transcript delta for every",
        "  300 ms of the answer's audio. The app's recorder then writes six times per turn, at three",
        "  moments, so a turn is mostly completed in a later batch than the one that added it, and",
        "  is read back and updated. (Before 2026-12-01 the stand-in sent only the six events the",
        "  recorder stores, in one burst, which spared the relay the rest and the recorder those",
        "  reads and updates, and flattered persistence: the server's database thread at 300",
        "  sessions took about 5% of the core, against 13-18% with the writes spread before",
        "  `conversations/writes.py` was changed for it, and 7-9% after.)",
        "  Each session's first turn comes after a random share of the 2 s, so turns are spread as",
        "  independent conversations' are; **aligned** turns come after exactly 2 s, so all sessions,",
        "  started within one frame, start their turns in the same 100 ms: a burst of every session's",
        "  events and writes at once.",
        "- **Round trip** of a frame: from its send to the return of its echo, in the client.",
        "  **direct**: the client speaks GA to the stand-in itself. **Through** a relay: the client",
        "  speaks the browser protocol (docs/protocol.md) to the relay, which speaks GA upstream.",
        "  A direct client sends and reads its text frames as bytes, so it does not encode and",
        "  decode 6 kB of UTF-8 per frame, which a relay's client (binary audio) does not either.",
        "- **Added delay** of a frame = its round trip through the relay − the median direct round trip",
        "  measured in the same run with the same number of sessions and frame size (the clients' and",
        "  stand-in's core then does the same work). p50/p99/max are over every measured frame of every",
        "  session. The direct tail (shown) is included in every relay's tail, so p99 is conservative.",
        f"- **Lost**: a frame never echoed back (2 s grace). **Late**: added delay over {LATE_MS:g} ms.",
        "- **CPU s per session-minute**: CPU seconds of the server process (all threads, /proc) during",
        "  the measured window, divided by sessions × minutes. **MiB per session**: resident memory",
        "  at the end of the window minus after a 2-session warm-up (0.3 s of audio), divided by sessions.",
        f"- **Capacity**: the most sessions (in steps of 25, to within a tenth: runs differ by more)"
        f" with p99 added delay ≤ {THRESHOLD_MS:g} ms,",
        "  no lost frame, no error and every session connected, 100 ms frames. The search starts",
        "  where the fixed load's CPU, scaled up in proportion, would fill the core (CPU per",
        "  session falls as sessions grow, so that lands well under it), grows by a half at most",
        "  (to where the CPU, extrapolated along the last two passed steps, would fill 95% of the",
        "  core: a fixed growth overshot by several steps near the limit) and a tenth at least,",
        "  until a step fails, then halves the gap; every phase of the variant counts. Its steps",
        "  (`bench/staircase.py`, `bench/load_steps.py`) run on one server and one client process",
        "  per variant, which open or close only the difference between steps; each step streams",
        "  half a second, waits (up to 3 s; not once the frames in flight grew over a second) until",
        "  the server has caught up (under a quarter of a frame per session in flight), then",
        "  measures. After a failed step the clients pause until the",
        "  server is idle, having caught up on the frames and writes the load over capacity left",
        "  it (a load just under capacity caught up too slowly, and its window measured the load",
        "  above), then go on on the same server (`settled_s` in results.json; until 2026-12-02",
        "  the next step started a fresh server). A step's added delay is taken against the",
        "  direct median at the fixed load, not at its own: near the clients' limit the direct",
        "  phase's frames queue on their core too, and taking that queueing off every relay's",
        "  round trip flattered them.",
        "- **Persistence cost** (`bench/persistence.py`): this machine's speed drifts by up to a",
        "  third within a run, so two capacity searches minutes apart (persistence on and off, until",
        "  2026-12-02) differed mostly by drift; so did phases run back to back (alternating pairs,",
        "  until 2026-12-02: single pairs took 2% to 20% in one run and 10% to 24% in the next).",
        "  After the searches, the server with full turns stored and the same without run",
        "  **side by side**: both on the app's core at once, each with its own clients and half of",
        "  one load (three fifths of the capacity with persistence on), so every window sees the",
        "  same machine for both; persistence off is measured only so."
        f" {_pair_sets_text(results)} In each pair,",
        "  1 − CPU without ÷ CPU with is the share of the server's CPU that storing takes, which",
        "  is what it costs in capacity when the CPU runs out; a verdict is the median pair's, and",
        "  in every pair both servers must lose no frame and have no error, and keep the core under",
        "  90% busy together (each one's tail is not judged: it waits for the other's time slices",
        "  on the core). With half the load each, the writer's batches hold half as many",
        "  sessions' writes as one server's at the whole load would, so the cost per turn is, if",
        "  anything, overstated. The CPU is also split by thread (/proc): what the",
        "  threads beside the event loop (Django's database thread) and the event loop's own took",
        "  more with storing on, each a median over the pairs.",
        "- **Servers**: `daphne` with its defaults (it does not negotiate permessage-deflate);",
        "  `uvicorn` with its defaults, which accept the permessage-deflate that browsers and the",
        "  clients offer; **no deflate** is uvicorn with `--ws-per-message-deflate false`. uvloop is",
        "  installed (requirements.txt), so uvicorn runs on it unless `--loop asyncio` says otherwise.",
        "  The bare relay runs under uvicorn both ways, so it is compared with its best.",
        "- **Harness**: the clients (`bench/load.py`) and the stand-in (`bench/standin.py`) share the",
        "  other core; they use websockets on uvloop and parse JSON with orjson, so they cost less",
        "  than the server they measure. results.json counts the frames they sent late",
        "  (`late_sends`); where even the direct phase sent over 1% late, the harness is the limit.",
        "- **Writes per turn** (`bench/writes.py`): the six service calls the recorder applies for one",
        "  of the stand-in's full turns, timed alone on the app's core against a fresh SQLite file:",
        "  each write in its own transaction, a turn's writes in one, a turn of each of 25 sessions",
        "  in one (as the writer batches a busy worker's turns), and **spread**: each transaction",
        "  holding one of the three parts of a turn of each of 25 sessions, as the stand-in's and",
        "  real turns come. Conversation ids go as text, as the relay passes them, and the",
        "  collector has a worker's settings.",
        "- Every other phase starts a fresh server process. Every phase records how much CPU other",
        "  processes took on each core; one that failed while others used over 10% of a core is",
        "  measured again (both attempts are in results.json). **harness-bound** marks phases where",
        "  the clients' core was over 90% busy, so the harness, not the relay, limited them.",
        "",
    ]
    for frame_ms in (100, 20):
        rows = [find(results, v, n, frame_ms) for v in VARIANTS]
        rows = [r for r in rows if r is not None]
        if not rows:
            continue
        out += [
            f"## {n} sessions, {frame_ms} ms frames",
            "",
            "| server | added p50 ms | added p99 ms | added max ms | round trip p50 / p99 ms"
            " | lost | late | CPU s per session-min | MiB per session | capacity | notes |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            out.append(table_row(results, r))
        out.append("")
    out += capacity_section(results)
    out += [
        "## p99 added delay against sessions",
        "",
        f"![p99 added delay per server against sessions, 100 ms frames]({chart_name})",
        "",
    ]
    out += targets_section(results)
    out += findings_section(results)
    out += profile_section(results)
    out += [
        "## Not measured here",
        "",
        "- PostgreSQL and the Redis channel layer (the bench uses SQLite and the in-memory layer);",
        "  TLS; a real network between browser, relay and provider; the simulator's paced speech.",
        "- Several worker processes: every number is one process on one core.",
        "- Other ASGI servers (hypercorn, granian) and uvicorn's other WebSocket implementations.",
        "",
    ]
    return "\n".join(out)


def table_row(results: dict[str, Any], r: dict[str, Any]) -> str:
    cap = results.get("capacity", {}).get(r["variant"]) if r["frame_ms"] == 100 else None
    notes = []
    if r.get("harness_bound"):
        notes.append("harness-bound")
    if r.get("disturbed"):
        notes.append(
            f"other processes: {r.get('foreign_app_core_util', 0):.0%} / {r['foreign_load_core_util']:.0%}"
        )
    if r["server_error_count"] or r["connect_failure_count"] or r["send_errors"]:
        notes.append(
            f"errors {r['server_error_count']}, failed connects {r['connect_failure_count']}"
            f", send errors {r['send_errors']}"
        )
    if r["variant"] != "direct" and not r["ok"]:
        notes.append("fails the capacity criteria")
    added = (
        [f"{r['added_p50_ms']:.2f}", f"{r['added_p99_ms']:.2f}", f"{r['added_max_ms']:.1f}"]
        if "added_p50_ms" in r
        else ["—", "—", "—"]
    )
    return (
        "| "
        + " | ".join(
            [
                VARIANTS[r["variant"]].label,
                *added,
                f"{r['rtt_p50_ms']:.2f} / {r['rtt_p99_ms']:.2f}",
                f"{r['frames_lost']} of {r['frames_expected']}",
                str(r.get("frames_late", "—")),
                f"{r['cpu_s_per_session_min']:.3f}" if "cpu_s_per_session_min" in r else "—",
                f"{r['mib_per_session']:.3f}" if "mib_per_session" in r else "—",
                capacity_text(cap),
                "; ".join(notes),
            ]
        )
        + " |"
    )


def capacity_text(cap: dict[str, Any] | None) -> str:
    if not cap:
        return "—"
    if cap["sessions"] == 0:
        return f"< {cap['first_failure']}"
    return f"≥ {cap['sessions']}" if cap["lower_bound"] else str(cap["sessions"])


def capacity_section(results: dict[str, Any]) -> list[str]:
    caps = results.get("capacity") or {}
    if not caps:
        return []
    out = [
        "## Capacity (one process, one core, 100 ms frames)",
        "",
        "| server | capacity | first failing step | steps (sessions: pass/fail) |",
        "|---|---|---|---|",
    ]
    for name, cap in caps.items():
        steps = ", ".join(f"{k}: {'pass' if ok else 'fail'}" for k, ok in cap["tried"])
        out.append(
            f"| {VARIANTS[name].label} | {capacity_text(cap)} | {cap['first_failure'] or '—'} | {steps} |"
        )
    out.append("")
    return out


def targets_section(results: dict[str, Any]) -> list[str]:
    n = results["settings"]["sessions"]
    caps = results.get("capacity") or {}
    out = ["## Targets", "", "| target | measured | met |", "|---|---|---|"]

    def line(target: str, measured: str, met: bool | None) -> None:
        out.append(f"| {target} | {measured} | {'yes' if met else 'no' if met is not None else 'n/a'} |")

    for variant in LATENCY_VARIANTS:
        for frame_ms in (100, 20):
            r = find(results, variant, n, frame_ms)
            if r is None:
                continue
            label = f"{VARIANTS[variant].label}, {n} sessions, {frame_ms} ms frames"
            line(f"added p50 ≤ 1 ms ({label})", f"{r['added_p50_ms']:.2f} ms", r["added_p50_ms"] <= 1)
            line(f"added p99 ≤ 5 ms ({label})", f"{r['added_p99_ms']:.2f} ms", r["added_p99_ms"] <= 5)
    # Echo against echo: the bare relay stores nothing, so the same load with nothing stored.
    for bare_name in ("bare", "bare-nodeflate"):
        for variant in ("daphne", "uvicorn-nodeflate"):
            cap, bare = caps.get(variant), caps.get(bare_name)
            if not cap or not bare or not bare["sessions"]:
                continue
            ratio = cap["sessions"] / bare["sessions"]
            line(
                f"capacity ≥ 1.5× the bare relay's"
                f" ({VARIANTS[variant].label} vs {VARIANTS[bare_name].label})",
                f"{capacity_text(cap)} vs {capacity_text(bare)} = {ratio:.2f}×",
                _verdict(ratio >= 1.5, cap, bare),
            )
    sets = paired_sets(results)
    for paired in sets:
        on, off = caps.get(paired["on"]), caps.get(paired["off"])
        searches = (
            f"; the two capacity searches: {capacity_text(on)} vs {capacity_text(off)}" if on and off else ""
        )
        line(
            f"persistence costs ≤ 10% of capacity (uvicorn, no deflate, {_turn_rate(paired)},"
            f" on vs off, {_how_paired(paired)} at one load)",
            f"{_paired_text(paired)}{searches}",
            paired["cost"] <= 0.10 and paired["all_ok"],
        )
    for variant in LATENCY_VARIANTS:
        r = find(results, variant, n, 100)
        if r is not None and "mib_per_session" in r:
            line(
                f"≤ 1 MiB per active session ({VARIANTS[variant].label})",
                f"{r['mib_per_session']:.3f} MiB",
                r["mib_per_session"] <= 1,
            )
    out.append("")
    return out


def paired_sets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The persistence pairs' sets with a cost (results.json before the 6 s set held one, unnamed)."""
    paired = results.get("persistence") or []
    if isinstance(paired, dict):
        paired = [{"on": ON, "off": OFF, **paired}]
    return [p for p in paired if p.get("cost") is not None]


def _turn_rate(paired: dict[str, Any]) -> str:
    """'a full turn every 2 s' for the set's variant."""
    return f"a full turn every {(VARIANTS[paired['on']].turn_ms or 2000) / 1000:g} s"


def _how_paired(paired: dict[str, Any]) -> str:
    """How the set's pairs ran: side by side, or (results.json before 2026-12-02) alternating."""
    return "side by side" if paired.get("side_by_side") else "alternating pairs"


def _load_text(paired: dict[str, Any]) -> str:
    """'350 sessions (175 on each server)', or the one server's load of alternating pairs."""
    n = paired["sessions"]
    return f"{n} sessions ({n // 2} on each server)" if paired.get("side_by_side") else f"{n} sessions"


def _paired_text(paired: dict[str, Any]) -> str:
    """The persistence pairs' median cost, each pair's, and any phase that failed."""
    each = _shares(paired)
    text = (
        f"{_median_share(paired['cost'])} of the server's CPU at {_load_text(paired)}"
        f" (median of {len(paired['costs'])} pairs: {each})"
    )
    if paired.get("other_threads_cost") is not None:
        text += f"; {_thread_split(paired)}"
    if not paired["all_ok"]:
        if paired.get("side_by_side"):
            failed = [
                "lost frames or errors"
                if not (r["ok_on"] and r["ok_off"])
                else f"the core {r['core_busy']:.0%} busy"
                for r in paired["pairs"]
                if not (r["ok_on"] and r["ok_off"]) or (r.get("core_busy") or 0.0) > SATURATED
            ]
            return text + f", and a pair was not usable: {', '.join(failed)}"
        failed = [
            f"storing {side} (p99 {r[f'p99_{side}']:.1f} ms)"
            for r in paired["pairs"]
            for side in ("on", "off")
            if not r[f"ok_{side}"] and r.get(f"p99_{side}") is not None
        ]
        text += ", and a phase failed at that load" + (f": {', '.join(failed)}" if failed else "")
    return text


def _thread_split(paired: dict[str, Any]) -> str:
    """'the database thread 6%, the event loop 1%': what each took more with persistence on."""
    return (
        f"the database thread {_share(paired['other_threads_cost'])},"
        f" the event loop {_share(paired['main_thread_cost'])} (medians)"
    )


def _shares(paired: dict[str, Any]) -> str:
    return ", ".join(_share(c) for c in paired["costs"])


def _median_share(cost: float) -> str:
    """A median cost to a tenth of a point, as the target is judged on it (10.4% is not met)."""
    return f"{cost:.1%}" if cost >= 0.0005 else _share(cost)


def _share(cost: float) -> str:
    """A cost as a share; a negative one (storing off took more) as none, with the sign kept."""
    return f"{cost:.0%}" if cost >= 0.005 else f"none ({cost:.0%})" if cost <= -0.005 else "0%"


def _verdict(met: bool, *caps: dict[str, Any]) -> bool | None:
    """A comparison of capacities, or None (n/a) when a search stopped before finding its limit."""
    return None if any(cap["lower_bound"] and cap["first_failure"] is None for cap in caps) else met


def _gc_pair(results: dict[str, Any]) -> str:
    """The worker's collector settings against Python's, from the phases marked `gc`.

    Runs before these were measured at the pairs' load compared them at 400 sessions.
    """
    n = results["settings"].get("gc_sessions")
    if n is None:
        return _pair(
            results, "uvicorn-nodeflate+turns", "uvicorn-nodeflate+turns-pythongc", LEGACY_GC_SESSIONS
        )
    marked = [p for p in results["phases"] if p.get("gc") and not p.get("superseded")]
    ours = next((p for p in marked if p["variant"] == "uvicorn-nodeflate+turns"), None)
    pythons = next((p for p in marked if p["variant"] == "uvicorn-nodeflate+turns-pythongc"), None)
    return _compare(ours, pythons, n)


def _pair(results: dict[str, Any], a: str, b: str, sessions: int | None = None) -> str:
    """`a` against `b` at the fixed load (or `sessions`), 100 ms frames: added p50/p99 and CPU."""
    n = sessions or results["settings"]["sessions"]
    return _compare(find(results, a, n, 100), find(results, b, n, 100), n)


def _compare(ra: dict[str, Any] | None, rb: dict[str, Any] | None, n: int) -> str:
    """`ra` (after) against `rb` (before) at `n` sessions: added p50/p99, lost frames and CPU."""
    if ra is None or rb is None or "added_p50_ms" not in ra or "added_p50_ms" not in rb:
        return "(not measured in this run)"
    return (
        f"{n} sessions: added p50 {rb['added_p50_ms']:.2f} → {ra['added_p50_ms']:.2f} ms,"
        f" p99 {rb['added_p99_ms']:.2f} → {ra['added_p99_ms']:.2f} ms,"
        f" lost {rb['frames_lost']} → {ra['frames_lost']},"
        f" server CPU {rb.get('app_cpu_util', 0):.0%} → {ra.get('app_cpu_util', 0):.0%} of a core"
    )


def _fixed_persistence_lines(results: dict[str, Any], n: int) -> list[str]:
    """Storing's share of a core at the fixed load, on minus off, where both were measured
    (runs before 2026-12-02 had these phases; since, persistence off runs side by side only)."""
    if find(results, "uvicorn-nodeflate+turns-nopersist", n, 100) is None:
        return []
    return [
        "Storing took (the server's CPU with persistence on minus off, at the fixed load; phases"
        " differ by several points from run to run)"
        f" {_persistence_share(results, 'daphne+turns', 'daphne+turns-nopersist')} under daphne and"
        f" {_persistence_share(results, 'uvicorn-nodeflate+turns', 'uvicorn-nodeflate+turns-nopersist')}",
        f"under uvicorn at {n} sessions.",
    ]


def _persistence_share(results: dict[str, Any], on: str, off: str) -> str:
    """How much of a core storing full turns took at the fixed load: CPU with it minus without."""
    n = results["settings"]["sessions"]
    ra, rb = find(results, on, n, 100), find(results, off, n, 100)
    if ra is None or rb is None or "app_cpu_util" not in ra or "app_cpu_util" not in rb:
        return "(not measured in this run)"
    share = round((ra["app_cpu_util"] - rb["app_cpu_util"]) * 100)
    return f"{share:+d}% of a core" if share else "no measurable share of a core"


def findings_section(results: dict[str, Any]) -> list[str]:
    """What was done to make the relay fast, and why what is not met is not."""
    n = results["settings"]["sessions"]
    writes = results.get("writes") or {}
    turns_per_s = n / 2  # one full turn per 2 s of audio per session
    if writes:
        alone, turn, many = (writes[f"cpu_ms_per_turn_{k}"] for k in ("each_write", "turn", "sessions"))
        spread = writes.get("cpu_ms_per_turn_spread")
        cost_lines = [
            "`bench/writes.py` times one turn's six writes alone on the app's core:"
            f" {alone:.1f} ms of CPU ({writes['queries_per_turn_each_write']} queries) when each has",
            f"its own transaction, {turn:.1f} ms ({writes['queries_per_turn_turn']} queries) when"
            f" the turn's writes go together, {many:.2f} ms ({writes['queries_per_turn_sessions']} queries)"
            " when a turn of each of 25 sessions does"
            + (
                f", {spread:.2f} ms ({writes['queries_per_turn_spread']} queries) when they come in"
                " three parts as real turns do"
                if spread
                else ""
            )
            + f"; {n} sessions write {turns_per_s:g} turns a second here, so about",
            f"{(spread or many) * turns_per_s / 1000:.0%} of a core for the writes alone"
            " (the server also pays for handing them to the database thread, and the two threads share"
            " one core and its caches).",
        ]
    else:
        cost_lines = ["(`bench/writes.py` did not run.)"]
    out = [
        "## What was done, and what is left",
        "",
        "In the app (this file's history in git holds the runs from before these changes):",
        "",
        "1. **No audio frame waits for the database thread.** `VoiceConsumer.dispatch` hands",
        "   `websocket.receive` straight to the relay; Channels would otherwise send every frame",
        "   through `close_old_connections` in asgiref's one database thread, behind the recorder.",
        "2. **One writer per worker writes every session's turns together**",
        "   (`realtime/recorder.py`): the sessions' recorders queue their writes to it, and it takes",
        "   everything queued meanwhile, from every session, into one `database_sync_to_async` call",
        "   and one transaction, on a persistent connection (`CONN_MAX_AGE`; SQLite in WAL mode with",
        "   `synchronous=NORMAL`). Each session's writes keep their order; a bad write falls back to",
        "   savepoints, so it spoils no other. Since 2026-12-02 a batch of turn and usage writes",
        "   only, the usual one, takes no savepoint until one fails (it took two): 9-15% less CPU",
        "   for `bench/writes.py`'s spread turns (the two ways alternating in one process, twice).",
        "3. **Turn and usage writes of many conversations go in a few queries**",
        "   (`conversations/writes.py`): one locking read of the conversations, one read of the turns",
        "   and usage reports named, one INSERT per table, and one prepared UPDATE of the totals run",
        "   for every conversation (`executemany`), instead of a lock and several ORM queries per",
        "   write. The INSERT and UPDATE statements are built once per model, not by `bulk_create`",
        "   and the ORM per batch: text and integers go to the driver as they are, which halved",
        "   `bench/writes.py`'s CPU per turn with 25 sessions' turns together (0.69-0.76 ms to",
        "   0.37-0.41 ms, measured while making the change).",
        "   Later: the reads of stored turns and usage ask for each (conversation, item) pair, one",
        "   lookup in its unique index, where two IN lists made SQLite try every conversation with",
        "   every item (about 3 ms against 0.3 ms for a batch of 40 turns); the conversation foreign",
        "   keys lost their own indexes, which the unique constraints (leading with the conversation)",
        "   made redundant and every insert updated (the inserts took about 30% less CPU); new rows",
        "   are plain values, not model instances; and the batch's reads are SQL built by",
        "   hand, not compiled by the ORM per batch; the recorder's batches insert with one",
        "   single-row statement run for each row (`executemany`), as they need no ids back. The",
        "   25-session loop went from 2.41 M to 1.19 M instructions per turn (callgrind, which",
        "   counts the same however fast the machine runs that day), and the server's database",
        "   thread at 200 sessions, a turn every 2 s, from 11-12% of the core to about 7%",
        "   (measured while making the changes, with the stand-in's turns still in one burst).",
        "   Then, with turns spread as real ones come, half of the writes' CPU was the ORM saving",
        "   each turn completed after the batch that added it (an UPDATE compiled per turn) and a",
        "   second query loading such turns: the pair lookup now reads the rows themselves and the",
        "   changed turns go in one UPDATE built by hand and run for each (`executemany`).",
        "   `bench/writes.py`'s spread turns went from 1.1-1.2 ms to 0.5-0.7 ms of CPU per turn",
        "   (3.2 to 1.2 queries), a write in its own transaction from 4.4 ms to 2.6-2.8 ms, and the",
        "   server's database thread at 300 sessions, a turn every 2 s, from 13-18% of the core to",
        "   about 7% (measured while making the change).",
        "   Then (2026-12-02) `bench/writes.py` passed conversation ids as text, as the relay does,",
        "   which showed every write parsing its id into a UUID again: spread turns took 0.42-0.44",
        "   ms, not the 0.38 ms measured with UUIDs. Now ids are parsed once (cached) and a batch",
        "   keys conversations by their hex form (a UUID's hash runs in Python at every lookup); a",
        "   stored turn is read as plain values of the columns the writes check and change, not as a",
        "   model instance; only columns with a conversion are converted; a value is prepared for",
        "   the database only when not of its column's plain type, worked out once per combination",
        "   of types. Items first added and usage reports are taken for new without a lookup: in the",
        "   server the lookups cost about three times what they do alone (about 10 µs a pair, as",
        "   the database thread shares the core and its caches with the event loop), and nearly all",
        "   found nothing; a replayed one is refused by its unique index and the batch applied again,",
        "   looking each up first. SQLite keeps temporary data in memory (`temp_store`): each",
        "   statement's undo pages went to a temporary file, a third of the writes to files; and",
        "   copies its WAL back every 10,000 pages, not 1,000, as batches change the same pages",
        "   (each conversation's end of each index) again and again (about 7% less CPU per turn with",
        "   400 sessions' turns on a 50 MB database).",
        "   `bench/writes.py` also collects garbage as a worker does. Spread turns went from",
        "   0.42-0.44 ms to 0.27-0.31 ms, and the server's database thread at 300 sessions, a turn",
        "   every 2 s, from 0.051-0.063 of the core to 0.037-0.044 (alternating phases, measured",
        "   while making the changes). In the persistence pairs of the two full runs since, at",
        "   375-400 sessions and with a database grown to about 50 MB by the earlier phases, it",
        "   took about 0.34 ms of CPU a turn, about 9% of the server's CPU.",
        "4. **Batches formed by waiting, with rests** (`realtime/recorder.py`): a write waits up",
        "   to a second for others to join its batch (unless its session drains, as at its end); a",
        "   batch takes about 25 ms of CPU at most, sized from the batches before (at 400 sessions",
        "   storing turns, 10 ms batches cost the server about 10 points more of its core, in fixed",
        "   costs per batch); after each batch the next waits as long as it took (`WRITE_SHARE`).",
        "   The wait was 250 ms until 2026-12-02: in persistence pairs at 137 sessions a server, a",
        "   turn every 2 s, storing took 8.1% and 9.4% of the server's CPU with it, against 6.2%",
        "   and 6.5% with a second (the two alternating, two runs each).",
        "5. **The database thread runs 10 nice levels below the event loop** (Linux): a frame",
        "   arriving while a batch is written no longer waits for the end of that thread's time",
        "   slice. With full turns stored this halved the p99 added delay (about 6 ms to about 3 ms",
        "   at 100 sessions, measured while making the change).",
        "6. **The audio path does one base64 pass and no JSON encoding of audio**: appends are built",
        "   as UTF-8 bytes around the base64 of the frame and sent as a text frame; upstream events,",
        "   browser messages and browser events are parsed and serialized by orjson. The base64 is",
        "   pybase64's SIMD codec: a 100 ms frame encodes in 0.3 µs instead of binascii's 5.5 µs and",
        "   decodes (as leniently) in 1.9 µs instead of 13.9 µs; binascii had been about a tenth of",
        "   the server's CPU samples (perf) at 300 sessions. In three alternating pairs at 300",
        "   sessions the server's CPU averaged 52% of its core before and 48% after (single",
        "   phases 46-56% and 47-48%: the machine's speed varies; measured while making the change).",
        "7. **uvloop** is a dependency, so uvicorn runs on it. Measured here:",
        f"   {_pair(results, 'uvicorn-nodeflate', 'uvicorn-nodeflate-asyncio')}.",
        "8. **No permessage-deflate.** uvicorn accepts the deflate browsers offer by default and",
        "   then compresses every PCM frame, which barely compresses. Measured here:",
        f"   {_pair(results, 'uvicorn-nodeflate', 'uvicorn')}. Serve with",
        "   `--ws-per-message-deflate false` (daphne does not negotiate it).",
        "9. **A worker's garbage collector runs rarely and skips start-up's objects**",
        "   (`voiceproject/garbage.py`): Python's collections run in whichever thread allocates,",
        "   holding the GIL, so every session's audio waits for them. With Python's settings a",
        "   worker collected young objects every 700 allocations, and every few seconds a full",
        "   collection scanned every object, Django's included: about 90 ms of CPU at 400",
        "   sessions. The worker now freezes what start-up made (`gc.freeze()`) and collects young",
        "   objects after 50,000 allocations (`WORKER_GC_THRESHOLD`); a steady worker makes almost",
        "   no cyclic garbage, so little waits to be collected. Measured here with full turns:",
        f"   {_gc_pair(results)}.",
        "10. **No task per frame, no session bookkeeping per frame** (`realtime/dispatching.py`,",
        "   `realtime/auth.py`): Channels' consumer loop makes a task and an `asyncio.wait` for",
        "   every message, and its session middleware reads the session on every frame sent. The",
        "   voice consumer awaits the browser's frames in its own task (the channel layer has a",
        "   task of its own) and the WebSocket stack reads the session once. In three A/B pairs",
        "   at 100 sessions the server's CPU fell from about 30% to 26% of its core with 100 ms",
        "   frames and from about 82% to 75% with 20 ms frames (measured while making the change).",
        "11. **Fewer trips to the database at a session's start** (`realtime/auth.py`,",
        "   `realtime/registry.py`; 2026-12-02): a session with a token header skips the session",
        "   and its user (two trips to the database thread), and admitting a live session takes no",
        "   savepoint and, on SQLite, where it would lock nothing, no lock of the user's row: 8",
        "   statements instead of 11 (on SQLite), 6.3 to 5.8 ms of CPU per session plan (medians",
        "   of five in-process runs on a slow day). Connecting sessions is much of what a",
        "   capacity step spends outside its window (up to 3 to 5 s of a step on a slow day).",
        "",
        "What persistence costs: with full turns the stand-in has every session write a turn, six",
        "writes at three moments, for every 2 s of audio, several times the turn rate of a spoken",
        "conversation (an utterance and its answer usually take 5 to 15 s).",
        *_fixed_persistence_lines(results, n),
        *_paired_lines(results),
        *cost_lines,
        "",
    ]
    unmet = unmet_reasons(results)
    if unmet:
        out += ["Where a target is not met, and why:", "", *unmet, ""]
    return out


def _paired_lines(results: dict[str, Any]) -> list[str]:
    """The persistence pairs, phase by phase."""
    out = []
    for paired in paired_sets(results):
        pairs = "; ".join(
            f"{r['cpu_on']:.0%} with, {r['cpu_off']:.0%} without"
            + (
                f" (database thread {r['others_on']:.1%} and {r['others_off']:.1%} of the core)"
                if r.get("others_on") is not None and r.get("others_off") is not None
                else ""
            )
            + f" (p99 {r['p99_on']:.1f} and {r['p99_off']:.1f} ms"
            f"{'' if r['ok_on'] and r['ok_off'] else ', failed'})"
            for r in paired["pairs"]
        )
        split = f"; of it, {_thread_split(paired)}" if paired.get("other_threads_cost") is not None else ""
        near = (
            f" That is near the target: single pairs took {min(paired['costs']):.0%} to"
            f" {max(paired['costs']):.0%}, so another run may fall on either side of it."
            if 0.08 < paired["cost"] <= 0.12 and len(paired["costs"]) > 1
            else ""
        )
        out.append(
            f"With {_turn_rate(paired)}, {_how_paired(paired)} at {_load_text(paired)},"
            f" storing took {_median_share(paired['cost'])} of the server's CPU (median pair{split})."
            f"{near} Server CPU per pair: {pairs}."
        )
    return out


def unmet_reasons(results: dict[str, Any]) -> list[str]:
    """A bullet for each kind of target this run missed, saying why."""
    n = results["settings"]["sessions"]
    caps = results.get("capacity") or {}
    out: list[str] = []
    sets = paired_sets(results)
    if sets and sets[0]["cost"] > 0.10:
        out += [
            "- **Persistence costs more than 10% of capacity** at this turn rate (every session, every",
            "  2 s). The writes run in Django's database thread, in the process and on the core of the",
            "  audio, and hold the GIL while they build rows, so batches are kept to about 25 ms",
            "  of CPU, and part of each goes to fixed costs (the thread hop, the transaction, the",
            "  locking and reading queries). Near the core's limit the writes' CPU is what is missing.",
            *_persistence_load(results),
            *(
                [f"  In this run's pairs, of that cost, {_thread_split(sets[0])}."]
                if sets[0].get("other_threads_cost") is not None
                else []
            ),
            "  Before 2026-12-02, at 300 sessions with a turn every 2 s spread as above, the",
            "  database thread took 7-9% of the core and the event loop's thread about 2-3 points",
            "  more than without storing (thread times over phases, measured while making changes).",
            "  Batches lingering up to 1 or 2 s instead of 0.25 s took no less of the database thread",
            "  (three phases each, at 350 sessions then, at 300 on 2026-12-02), so they stay short.",
            "  What is left of a turn's writes is about half SQLite and the kernel (py-spy and perf",
            "  of the server's database thread on 2026-12-02: the inserts into each table and its",
            "  unique indexes, the updates of turns and totals, the commit's writes to the WAL), half",
            "  the Python that turns events into rows. A writer process of its own would spare the",
            "  contention, not the writes' own CPU, at the price of a second process per worker and a",
            "  hand-over that must not lose a write. The cost falls with the turn rate:",
            *(
                [
                    f"  with {_turn_rate(sets[1])} (the brisk end of speech) storing took"
                    f" {_median_share(sets[1]['cost'])} of the CPU (pairs: {_shares(sets[1])}),",
                    f"  against {_median_share(sets[0]['cost'])} with {_turn_rate(sets[0])}"
                    f" (pairs: {_shares(sets[0])}).",
                ]
                if len(sets) > 1
                else ["  at a turn every 6 s (brisk speech) the same writes would take a third of it."]
            ),
        ]
    slow = [
        v
        for v in LATENCY_VARIANTS
        if (r := find(results, v, n, 100)) and (r["added_p50_ms"] > 1 or r["added_p99_ms"] > 5)
    ]
    if slow:
        floor = find(results, "tcp-proxy", n, 100)
        floor_text = (
            f" (here {floor['added_p50_ms']:.2f} ms p50 and {floor['added_p99_ms']:.2f} ms p99)"
            if floor
            else ""
        )
        worst = "; ".join(
            f"{VARIANTS[v].label}: p99 {r['added_p99_ms']:.2f} ms, max {r['added_max_ms']:.1f} ms"
            for v in slow
            if (r := find(results, v, n, 100))
        )
        out += [
            f"- **Added delay over target at {n} sessions, 100 ms frames** ({worst}). A p99 over",
            f"  {_fixed_seconds(results):g} s of {n} sessions is the worst 1% of a few thousand",
            "  frames, so one pause of the process or the machine of a few tens of milliseconds moves",
            "  it past 5 ms; the max shows whether there was one.",
            *_repeats(results, slow, n),
            "  Per frame the stack costs Channels'",
            "  middleware and consumer dispatch, the ASGI server's WebSocket protocol (autobahn and",
            "  Twisted in daphne, websockets in uvicorn) and two loopback hops with their wake-ups;",
            f"  the TCP forwarder's row is the hops alone{floor_text}. With aligned turns every",
            "  session's turn events and writes arrive in the same 100 ms every 2 s; while the",
            "  database thread writes a batch, each audio frame waits for the GIL up to Python's",
            "  switch interval (5 ms) at every hand-over between the two threads.",
        ]
    twenty = [r for v in LATENCY_VARIANTS if (r := find(results, v, n, 20))]
    if any(r["added_p50_ms"] > 1 or r["added_p99_ms"] > 5 for r in twenty):
        busy = " and ".join(
            f"{r.get('app_cpu_util', 0):.0%} ({r['label']})" for r in twenty if "app_cpu_util" in r
        )
        floor = find(results, "tcp-proxy", n, 20)
        floor_line = (
            [
                f"  The TCP forwarder, which only copies bytes, added {floor['added_p99_ms']:.2f} ms p99",
                "  itself at this load: part of the tail is this machine's loopback and wake-ups.",
            ]
            if floor and floor["added_p99_ms"] > 5
            else []
        )
        out += [
            "- **20 ms frames** are five times the frames for the same audio, and every frame pays",
            "  the stack's price per frame (Channels' dispatch, the server's WebSocket protocol, two",
            f"  loopback hops): at {n} sessions the server's core was busy {busy}, and a core",
            "  that full queues frames behind each other, so the tail varies from run to run. Under",
            "  daphne the price is higher than under uvicorn (Twisted and autobahn in Python,",
            "  against websockets' protocol on uvloop's event loop, written in C), so its core is",
            "  nearly full: a server matter the app cannot change, and why the README recommends",
            "  uvicorn. Where the clients' own core was the limit the rows are marked",
            "  *harness-bound* and say more about the harness than the relay.",
            *floor_line,
        ]
    bares = [caps[b]["sessions"] for b in ("bare", "bare-nodeflate") if caps.get(b)]
    apps = [caps[v]["sessions"] for v in ("daphne", "uvicorn-nodeflate") if caps.get(v)]
    if bares and apps and max(apps) < 1.5 * max(bares):
        out += [
            "- **Capacity against the bare relay served without deflate.** Against the bare relay as",
            "  the simplest bridges are served (uvicorn's defaults) the app on uvicorn holds far",
            "  more; given `--ws-per-message-deflate false` too, the bare relay's per-frame work is",
            "  what the app's audio path does minus Channels' dispatch and the relay's checks and",
            "  records: both spend most of a frame's time in the same server's WebSocket code, the",
            "  same websockets client and the same system calls (the kernel alone was about 29% of",
            "  the app's samples in perf at 300 sessions).",
            *_lighter(results, caps),
            "  A faster WebSocket server would speed both.",
            "  Measured while looking for room (100 ms frames; perf at 200 sessions, strace at 100):",
            "  both servers made the same system calls, one read and one write per frame each way,",
            "  and the kernel took 27-31% of each one's samples; the Python interpreter took the",
            "  same CPU in both (about 0.19 of the core); the bare relay's json and binascii (21% of",
            "  its samples) weigh what the app's Channels and relay code do, leaving the app 20-25%",
            "  less CPU per session (0.33-0.40 against 0.41-0.48 of the core). The websockets",
            "  client's asyncio layer, the one part a sans-I/O rewrite could thin, was about 5% of",
            "  the app's event loop samples. granian, tried as the server at 200 sessions, took more",
            "  CPU than uvicorn for both: 38-41% of the core against 33-34% for the app, 47% against",
            "  41-42% for the bare relay.",
        ]
        compared = ("bare-nodeflate", "daphne", "uvicorn-nodeflate")
        # Only where the server still had room could the clients' core have been the limit.
        bound = [
            p
            for p in results["phases"]
            if p.get("harness_bound") and p["variant"] in compared and p.get("app_cpu_util", 1) < 0.9
        ]
        if bound:
            out += [
                f"  From {min(p['sessions'] for p in bound)} sessions the clients' own core was over",
                "  90% busy in these servers' phases (*harness-bound* in results.json), so larger",
                "  capacities could not be told apart here.",
            ]
        direct = [p for p in results["phases"] if p["variant"] == "direct"]
        late = [p["sessions"] for p in direct if _late_share(p) > 0.01]
        if late:
            out += [
                f"  From {min(late)} sessions the clients sent over 1% of their frames late even straight",
                "  to the stand-in, so capacities from there on measure the harness, not the servers.",
            ]
    daphne, bare = caps.get("daphne"), caps.get("bare")
    if daphne and bare and daphne["sessions"] < 1.5 * bare["sessions"]:
        out += [
            "- **Capacity under daphne.** Daphne's WebSocket protocol (Twisted and autobahn, in",
            "  Python) costs more per frame than uvicorn's, so the app under daphne holds fewer",
            "  sessions than under uvicorn; the bare relay runs under uvicorn. Serve with uvicorn.",
        ]
    return out + _run_time_lines(results)


# A run takes "a few minutes" (the benchmark's issue) when it takes at most this many.
FEW_MINUTES = 5.0


def _run_time_lines(results: dict[str, Any]) -> list[str]:
    """Why a run took more than a few minutes: what `--full` added, or how much was streaming."""
    minutes = results.get("duration_s", 0.0) / 60
    if results["settings"].get("quick") or minutes <= FEW_MINUTES:
        return []
    if results["settings"].get("full"):
        extra = _full_only_seconds(results) / 60
        return [
            f"- **The run took {minutes:.1f} minutes**, {extra:.1f} of them in what only",
            "  `make bench-full` measures (uvicorn with deflate, the asyncio loop, aligned turns,",
            f"  the collector, the profiles): `make bench` takes about {minutes - extra:.1f} here.",
        ]
    streaming = sum(
        (p.get("measured_s", 0.0) + _warmup_s(p)) / (2 if p.get("side_by_side") else 1)
        for p in results["phases"]
    )
    return [
        f"- **The run took {minutes:.1f} minutes, not a few.** Streaming, the measured windows and",
        f"  the audio before each, took {streaming / 60:.1f} of them (the pairs' two servers",
        f"  counted once): the fixed loads' {_fixed_seconds(results):g} s windows (p99 over 4 s is"
        " mostly chance: one pause",
        "  of the machine is most of the worst 1%), the capacity searches' steps"
        + (", the pairs and the profiles." if results.get("profiles") else " and the pairs."),
        "  The rest is starting a server and its clients for each phase and",
        "  staircase (about a second before the first connection), connecting the sessions (the",
        "  app's session start takes a few ms of the server's CPU each), waiting for a server",
        "  to catch up after a step, and a pause after each failed step. A faster",
        "  machine holds more sessions, so its searches take more steps and longer.",
    ]


def _warmup_s(phase: dict[str, Any]) -> float:
    """A phase's streaming before its window (results.json before 2026-12-02: 1 s throughout)."""
    return float(phase.get("warmup_s", 1.0))


def _warmups_text(results: dict[str, Any]) -> str:
    """'after 1 s of warm-up (0.5 s in the capacity steps and pairs)'."""
    fixed = {_warmup_s(p) for p in results["phases"] if not p.get("stepped")} or {1.0}
    stepped = {_warmup_s(p) for p in results["phases"] if p.get("stepped")}
    text = f"after {'/'.join(f'{w:g}' for w in sorted(fixed))} s of warm-up"
    if stepped and stepped != fixed:
        text += f" ({'/'.join(f'{w:g}' for w in sorted(stepped))} s in the capacity steps and pairs)"
    return text


def _full_only_seconds(results: dict[str, Any]) -> float:
    """How long the phases only a full run has took, each from the end of the phase before it
    (results.json before 2026-12-02 has no phase's end: 0)."""
    total, previous = 0.0, None
    for phase in results["phases"]:
        end = phase.get("finished_at_s")
        if end is None:
            return 0.0
        full_only = phase.get("gc") or phase.get("profiled") or phase["variant"] in FULL_ONLY
        if full_only and previous is not None:
            total += end - previous
        previous = end
    return total


def _lighter(results: dict[str, Any], caps: dict[str, Any]) -> list[str]:
    """What the app's lighter audio path bought against the bare relay without deflate, as
    this run measured it: CPU per session at the fixed load, and the two capacities."""
    n = results["settings"]["sessions"]
    app, bare = find(results, "uvicorn-nodeflate", n, 100), find(results, "bare-nodeflate", n, 100)
    held = [caps.get(v) for v in ("uvicorn-nodeflate", "bare-nodeflate")]
    if not (app and bare and "cpu_s_per_session_min" in app and "cpu_s_per_session_min" in bare):
        return []
    a, b = app["cpu_s_per_session_min"], bare["cpu_s_per_session_min"]
    cheaper = f"{1 - a / b:.0%} less" if a < b else f"{a / b - 1:.0%} more"
    line = (
        "  What the app does lighter (orjson, SIMD base64, no JSON encoding of the audio) left it"
        f" {cheaper} CPU per session than the bare relay at {n} sessions in this run"
        f" ({a:.3f} against {b:.3f} s per session-minute)"
    )
    if not all(held):
        return [line + ": the shared part leaves no room for half as many more."]
    mine, theirs = held[0]["sessions"], held[1]["sessions"]
    if mine > theirs:
        return [
            line + f", and it held {mine} sessions against {theirs}: the shared part leaves no",
            "  room for half as many more.",
        ]
    return [
        line + f", yet it held {mine} sessions against {theirs}: near their capacities both cores",
        "  are busy (the clients' too), and the machine's speed from one minute to the next weighs",
        "  more than that difference; the shared part leaves no room for half as many more.",
    ]


def _late_share(phase: dict[str, Any]) -> float:
    """The share of a phase's measured frames its clients sent late."""
    return phase.get("late_sends", 0) / max(1, phase.get("frames_expected", 0))


def _repeats(results: dict[str, Any], variants: list[str], n: int) -> list[str]:
    """The same load measured again in the run (the profiled phases), for a tail over target."""
    again = [
        f"{VARIANTS[p['variant']].label} {p['added_p99_ms']:.2f} ms"
        for p in results["phases"]
        if p.get("profiled") and p["variant"] in variants and p["sessions"] == n and p["frame_ms"] == 100
    ]
    if not again:
        return []
    return [f"  The same load measured again in this run (while profiled): p99 {', '.join(again)}."]


def _persistence_load(results: dict[str, Any]) -> list[str]:
    """What storing turns costs at the capacity with persistence on (persistence off, in runs
    that searched it), from bench/writes.py's batched cost."""
    writes = results.get("writes") or {}
    caps = results.get("capacity") or {}
    held = caps.get(OFF) or caps.get(ON)
    if not writes or not held:
        return []
    turns_per_s = held["sessions"] / 2
    key = "spread" if "cpu_ms_per_turn_spread" in writes else "sessions"
    per_turn = writes[f"cpu_ms_per_turn_{key}"]
    how = (
        "25 sessions' turns in three parts, as they come"
        if key == "spread"
        else "25 sessions' turns in one transaction"
    )
    return [
        f"  At {held['sessions']} sessions they write {turns_per_s:g} turns a second; at"
        f" `bench/writes.py`'s {per_turn:.2f} ms a turn ({how})",
        f"  that is {per_turn * turns_per_s / 1000:.0%} of a core.",
    ]


def profile_section(results: dict[str, Any]) -> list[str]:
    profiles = results.get("profiles") or []
    if not profiles:
        return []
    out = [
        "## Where the time goes (py-spy)",
        "",
        "py-spy sampled the server (all threads, 250 Hz) during an extra phase of each kind below;",
        "shares are of the samples where a thread was busy (waiting in the event loop's selector or",
        "an idle worker thread is left out). Raw stacks: `bench/results/profile-*.txt`.",
        "",
    ]
    for prof in profiles:
        if not prof.get("samples"):
            continue
        out += [
            f"### {prof['label']}, {prof['sessions']} sessions, 100 ms frames",
            "",
            "| named cost (inclusive: anywhere in the stack) | share |",
            "|---|---|",
            *[f"| {name} | {share:.1%} |" for name, share in prof.get("hotspots", []) if share >= 0.001],
            "",
            "| area (innermost known frame) | share |",
            "|---|---|",
            *[f"| {name} | {share:.1%} |" for name, share in prof["areas"][:12]],
            "",
            "| function (self time) | share |",
            "|---|---|",
            *[f"| `{name}` | {share:.1%} |" for name, share in prof["functions"][:15]],
            "",
        ]
    return out


def render_chart(results: dict[str, Any], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    phases = [p for p in counted(results) if p["frame_ms"] == 100 and "added_p99_ms" in p]
    for variant in CHART_VARIANTS:
        points = sorted((p["sessions"], p) for p in phases if p["variant"] == variant)
        if not points:
            continue
        xs = [s for s, _ in points]
        label = VARIANTS[variant].label
        left.plot(xs, [max(p["added_p99_ms"], 0.01) for _, p in points], marker="o", label=label)
        right.plot(xs, [p.get("app_cpu_util", 0) * 100 for _, p in points], marker="o", label=label)
    left.axhline(THRESHOLD_MS, color="grey", linestyle="--", linewidth=1)
    left.text(left.get_xlim()[0], THRESHOLD_MS * 1.1, f"{THRESHOLD_MS:g} ms", color="grey", fontsize=8)
    left.set_yscale("log")
    left.set_xlabel("concurrent sessions (100 ms frames)")
    left.set_ylabel("p99 added delay, ms (log)")
    left.set_title("p99 added delay per frame")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    right.set_xlabel("concurrent sessions (100 ms frames)")
    right.set_ylabel("server CPU, % of one core")
    right.set_title("server CPU")
    right.grid(True, alpha=0.3)
    fig.suptitle(f"One process, one core ({results['machine']['cpu']}), loopback", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results" / "results.json"
    doc = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "benchmarks.md"
    write(json.loads(source.read_text()), doc, source.parent)


if __name__ == "__main__":
    main()
