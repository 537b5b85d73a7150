"""What `make bench`, `make bench-full` and `--quick` measure."""

from __future__ import annotations

from bench.__main__ import fixed_variants, parse_args
from bench.plan import (
    FIXED_VARIANTS,
    FULL_ONLY,
    FULL_PERSISTENCE_SETS,
    FULL_VARIANTS,
    PERSISTENCE_SETS,
)
from bench.runner import VARIANTS


def test_make_bench_measures_every_targets_rows_and_leaves_the_recommendations_to_the_full_run() -> None:
    default = parse_args([])

    at_100 = fixed_variants(default, 100)

    # The targets' rows: the app under daphne and uvicorn, with and without turns, the bare relay
    # both ways, and the TCP floor.
    for name in ("tcp-proxy", "bare", "bare-nodeflate", "daphne", "uvicorn-nodeflate", "daphne+turns"):
        assert name in at_100
    assert "uvicorn-nodeflate+turns" in at_100
    assert not FULL_ONLY & set(at_100)
    assert fixed_variants(default, 20) == FIXED_VARIANTS[20]


def test_the_full_run_adds_the_phases_behind_the_recommendations() -> None:
    full = parse_args(["--full"])

    assert fixed_variants(full, 100) == FIXED_VARIANTS[100] + FULL_VARIANTS[100]
    assert {"uvicorn", "uvicorn-nodeflate-asyncio", "uvicorn-nodeflate+aligned-turns"} <= FULL_ONLY


def test_chosen_variants_run_at_both_frame_sizes_and_quick_runs_its_own() -> None:
    assert fixed_variants(parse_args(["--variants", "daphne,bare"]), 20) == ["daphne", "bare"]
    assert "daphne" in fixed_variants(parse_args(["--quick"]), 100)


def test_every_run_pairs_turns_every_2_s_and_the_full_run_adds_them_every_6_s() -> None:
    # The stress rate, nearest the target, is in every run; the brisk rate of speech only in full.
    assert [VARIANTS[on].turn_ms for on, _, _ in PERSISTENCE_SETS] == [0]  # the stand-in's 2 s
    assert [VARIANTS[on].turn_ms for on, _, _ in FULL_PERSISTENCE_SETS] == [6000]
    for on, off, _ in FULL_PERSISTENCE_SETS:
        assert {on, off} <= FULL_ONLY  # a full run's account of its extra time counts them
    for on, off, _ in PERSISTENCE_SETS:
        assert not {on, off} & FULL_ONLY
