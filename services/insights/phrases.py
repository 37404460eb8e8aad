"""Reading a question with tables of phrases. Pure: no Flask, no SQL.

A table is a tuple of :class:`Row`; each row is one phrase (or one family of words that mean the
same thing): a compiled pattern, the value a match stands for, a priority and the examples it must
read. Every table is read the same way (:func:`scan` then :func:`pick`):

1. every match of every row is collected with its span;
2. overlapping matches are settled: the longest wins ("本周末" over "本周", "上一季度" over "一季度"),
   then the higher priority, then the earlier one;
3. of what is left, the caller takes the match of the highest priority, the earliest one among
   equals ("本月和上月对比" reads 本月 because 本月 outranks 上月; "热销商品的销售额" reads 销售额
   because an explicit metric outranks an implied one).

So adding a phrase is adding a row, and two rows that read the same words with the same priority
are an ambiguity that tests/unit/test_insights_phrases.py reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import cn2an

# Chinese or Arabic numerals as questions write them: 7, 七, 十五, 一百
NUMBER = r"(\d+|[一二两三四五六七八九十百]+)"


class Unreadable(ValueError):
    """The question could not be read; ``reason`` says why."""


@dataclass(frozen=True)
class Row:
    name: str  # what the row reads, as the docs and tests call it
    pattern: re.Pattern
    value: Any = None  # what a match stands for (a metric key, a kind's parameters ...)
    priority: int = 0
    examples: tuple[str, ...] = ()  # phrases the row must read; word rows: exactly their words
    read: Callable[..., Any] | None = None  # the interpreter of a match, for rows whose value depends on it


@dataclass(frozen=True)
class Match:
    row: Row
    start: int
    end: int
    found: re.Match

    @property
    def text(self) -> str:
        return self.found.group()


def words_pattern(words: Iterable[str], whole_words: bool = True) -> re.Pattern:
    """One pattern for a list of lower-case words, longest first. With ``whole_words`` an ASCII word
    stands alone (\\b would not separate "gmv" from a Chinese character before it)."""
    parts = []
    for word in sorted(words, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(r"(?<![a-z0-9])" + escaped + r"(?![a-z0-9])" if whole_words and word.isascii() else escaped)
    return re.compile("|".join(parts))


def word_row(name: str, words: tuple[str, ...], value: Any = None, priority: int = 0, whole_words: bool = True,
             read: Callable[..., Any] | None = None) -> Row:
    """A row that reads a list of words, which are also its examples; its value is its name unless given."""
    return Row(name, words_pattern(words, whole_words), name if value is None else value, priority, words, read)


def scan(text: str, table: Iterable[Row]) -> list[Match]:
    """Every match of the table's rows in ``text`` with overlaps settled (longest, then priority,
    then earliest), in the order they appear."""
    found = [Match(row, m.start(), m.end(), m) for row in table for m in row.pattern.finditer(text)
             if m.end() > m.start()]
    kept: list[Match] = []
    for match in sorted(found, key=lambda m: (m.start - m.end, -m.row.priority, m.start)):
        if all(match.end <= other.start or match.start >= other.end for other in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)


def pick(matches: list[Match]) -> Match | None:
    """The match of the highest priority, the earliest among equals; None if there is none."""
    return min(matches, key=lambda m: (-m.row.priority, m.start), default=None)


def first(text: str, table: Iterable[Row]) -> Match | None:
    return pick(scan(text, table))


def chinese_number(text: str) -> int:
    """7, 七, 十五, 两, 一百零五 → the number (cn2an, on the numeral alone: never on a whole question,
    where it would turn 四川 into 4川)."""
    if text.isdigit():
        return int(text)
    try:
        return int(cn2an.cn2an(text, "smart"))
    except ValueError:
        raise Unreadable(f"not a number: {text}") from None


def ambiguities(table: Iterable[Row]) -> list[tuple[str, str, str]]:
    """(example, its row, another row) for every example that another row of the same priority reads
    whole: nothing but the order of the rows would decide between them."""
    rows = list(table)
    return [(example, row.name, other.name) for row in rows for example in row.examples for other in rows
            if other is not row and other.priority == row.priority and other.pattern.fullmatch(example)]
