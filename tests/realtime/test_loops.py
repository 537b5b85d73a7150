"""Each event loop gets its own object, made once."""

from __future__ import annotations

import asyncio

from realtime.loops import PerLoop


def test_each_loop_has_its_own_object_made_on_first_use() -> None:
    made: list[object] = []

    def factory() -> object:
        made.append(object())
        return made[-1]

    per_loop = PerLoop(factory)

    async def twice() -> tuple[object, object]:
        return per_loop(), per_loop()

    first = asyncio.run(twice())
    second = asyncio.run(twice())

    assert first[0] is first[1]
    assert second[0] is second[1]
    assert first[0] is not second[0]
    assert len(made) == 2
