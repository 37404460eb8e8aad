"""The paraphrase set of `POST /v1/ask` (tests/support/ask_paraphrases/): questions written by a
helper that never saw the reader, each with the reading it should produce, in a schema of their
own (README there). This module loads them and says whether an answer's interpretation is that
reading — the reader's own format mapped onto theirs, never the other way round.

The held-out file is scored, never read: only counts leave :func:`score` for it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

FOLDER = Path(__file__).parent / "ask_paraphrases"
AS_OF = "2026-11-20"  # "today" of the set (the demo shop's last day)


def load(part: str) -> list[dict]:
    """``part``: "dev" or "heldout"."""
    with open(FOLDER / f"{part}.jsonl", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def reading(answer: dict) -> dict:
    """The reader's interpretation in the set's schema."""
    got = answer.get("interpretation") or {}
    out = {"metric": got.get("metric"), "shape": got.get("shape"), "dimension": got.get("dimension"),
           "filters": {column: value if isinstance(value, list) else [value]
                       for column, value in (got.get("filters") or {}).items()}}
    if got.get("time_range"):
        out["from"], out["to"] = got["time_range"]
    if got.get("compare_range"):
        out["compare_from"], out["compare_to"] = got["compare_range"]
    for name in ("top_n", "sort", "values"):
        if got.get(name) is not None:
            out[name] = got[name]
    return out


def problem(expect: dict, got: dict) -> str | None:
    """None when ``got`` (:func:`reading`) is the expected reading; else the first field that differs."""
    checks = ["metric", "from", "to", "shape"]
    if expect.get("dimension") or got.get("dimension"):
        checks.append("dimension")
    if expect.get("shape") in ("ranking",):
        checks += ["top_n", "sort"]
    if expect.get("shape") in ("argmax", "argmin"):
        checks.append("sort")
    if expect.get("shape") == "comparison":
        checks += ["compare_from", "compare_to"]
    if expect.get("shape") == "compare_values":
        checks.append("values")
    for name in checks:
        wanted = expect.get(name)
        if name == "sort" and wanted is None:
            wanted = "asc" if expect.get("shape") == "argmin" else "desc"
        if name == "values" and wanted is not None:
            wanted, have = sorted(wanted), sorted(got.get(name) or [])
        else:
            have = got.get(name)
        if have != wanted:
            return f"{name}: {have!r} != {wanted!r}"
    wanted_filters = {column: sorted(values) for column, values in (expect.get("filters") or {}).items()}
    have_filters = {column: sorted(values) for column, values in (got.get("filters") or {}).items()}
    if have_filters != wanted_filters:
        return f"filters: {have_filters!r} != {wanted_filters!r}"
    return None


def score(cases: list[dict], ask, show_questions: bool) -> dict:
    """Ask every case (``ask(question) -> (status, body)``); the share read exactly right, the
    misses by kind and by field, and — only with ``show_questions`` — the misses themselves."""
    misses = []
    for case in cases:
        status, body = ask(case["question"])
        if status != 200:
            misses.append((case, f"HTTP {status}"))
            continue
        found = problem(case["expect"], reading(body))
        if found:
            misses.append((case, found))
    report = {"questions": len(cases), "right": len(cases) - len(misses),
              "share_right": round(1 - len(misses) / len(cases), 4),
              "misses_by_kind": dict(Counter(case["kind"] for case, _why in misses).most_common()),
              "misses_by_field": dict(Counter(why.split(":")[0] for _case, why in misses).most_common())}
    if show_questions:
        report["misses"] = [f"{case['id']} [{case['kind']}] {case['question']} — {why}" for case, why in misses]
    return report
