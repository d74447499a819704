"""Strict JSON objects for headers, payloads and key sets.

Python's `json` quietly keeps the last of duplicate member names and accepts
``NaN`` and ``Infinity``; two JOSE implementations could then read one document
differently, so both are refused here.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps_compact", "loads_object"]


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        names = [name for name, _ in pairs]
        duplicate = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"duplicate member name {duplicate!r}")
    return result


def _reject_constant(name: str) -> Any:  # noqa: ANN401 - json's parse_constant hook signature
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads with hooks would build a new decoder on every call.
_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)


def loads_object(text: str | bytes) -> dict[str, Any]:
    """Parse a JSON object strictly; raise `ValueError` for anything else.

    Bytes must be UTF-8. Duplicate member names, ``NaN``/``Infinity`` and
    nesting too deep for the parser all raise `ValueError`, as does any JSON
    value that is not an object.
    """
    if isinstance(text, bytes):
        # json.loads would also guess UTF-16 or UTF-32 from the bytes; only UTF-8 is JSON here.
        text = text.decode("utf-8")
    try:
        value = _DECODER.decode(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors already.
    if not isinstance(value, dict):
        raise ValueError("JSON value is not an object")
    return value


def dumps_compact(value: object) -> str:
    """Serialise without spaces and with non-ASCII characters kept as UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
