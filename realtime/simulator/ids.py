"""Deterministic identifiers in the upstream format: a prefix plus 21 alphanumerics (§3)."""

from __future__ import annotations

import random
import string

_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 21


class IdFactory:
    """Mints ids for one connection, one random stream per prefix."""

    def __init__(self, seed: int, connection_number: int) -> None:
        """Remember the seed; streams are created lazily per prefix."""
        self._base = f"{seed}/{connection_number}"
        self._streams: dict[str, random.Random] = {}

    def _stream(self, name: str) -> random.Random:
        # One stream per prefix: item and response ids stay reproducible even when
        # concurrent tasks (transcription, responses) interleave their event ids.
        if name not in self._streams:
            self._streams[name] = random.Random(f"{self._base}/{name}")  # noqa: S311 (not security)
        return self._streams[name]

    def new(self, prefix: str) -> str:
        """Return the next id for a prefix such as "item"."""
        stream = self._stream(prefix)
        return f"{prefix}_" + "".join(stream.choices(_ALPHABET, k=_ID_LENGTH))

    def obfuscation(self) -> str:
        """Return the padding string GA puts on delta events to hide their size."""
        stream = self._stream("obfuscation")
        return "".join(stream.choices(_ALPHABET, k=stream.randint(8, 16)))
