"""Reading a JSON request body defensively, before any route sees it. Pure: no Flask, no SQL.

Python's ``json`` recurses once per nesting level, so ``[[[[...]]]]`` a hundred thousand deep
raises RecursionError (a 500) in whatever parses it next; and JSON may spell a lone UTF-16
surrogate (``"\\ud800"``), a string Python holds but no database driver can encode. Both are
refused here with the place they were found, so routes only ever see bodies they can store.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Deeper than any body the API takes (a few levels) by far; low enough that nothing recurses into trouble.
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotJson(ValueError):
    """The body is not JSON (bad syntax, not UTF-8, a number Python refuses to read)."""


class TooDeep(ValueError):
    """The body nests arrays/objects deeper than ``MAX_DEPTH``."""


def has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def printable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\ud800``, so an error can name it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def read(body: bytes, max_depth: int = MAX_DEPTH) -> tuple[Any, list[str]]:
    """The parsed body and the fields (``events.0.item_id``; ``""`` for the body itself) whose
    text, or name, holds a lone surrogate. Raises :class:`NotJson` or :class:`TooDeep`."""
    try:
        value = json.loads(body.decode("utf-8"))
    except RecursionError:
        raise TooDeep(max_depth) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of 5,000 digits
        raise NotJson(str(exc)) from None
    bad: list[str] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:  # iterative: the walk itself must not recurse
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise TooDeep(max_depth)
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, inner in pairs:
                inner_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and has_lone_surrogate(key):
                    bad.append(printable(inner_path))
                    continue
                stack.append((inner, inner_path, depth + 1))
        elif isinstance(item, str) and has_lone_surrogate(item):
            bad.append(path)
    return value, sorted(bad)
