"""Every human-readable string shopmind says, in the reader's language.

One catalogue per language (``shared/messages/zh-CN.toml``, ``shared/messages/en.toml``; the same
keys and placeholders in each, checked by tests). Code never writes a sentence itself: it says
``t("forecast.note_short_history", days=12)`` and gets a :class:`Message`, which stays a key and
its values until it is shown. It renders in the language of the request it is shown to (the
``Accept-Language`` header, else the shop's setting, else zh-CN), so a message kept in the
database (a job's progress, a model's promotion note) reads in whichever language its reader uses.

Placeholders are ``str.format`` fields (``{share:+.0%}``); a value may itself be a Message (a verb,
a feature's name), rendered in the same language.
"""

from __future__ import annotations

import contextvars
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
CATALOGUES = Path(__file__).resolve().parent / "messages"
MARKER = "$t"  # how a Message is kept in JSON: {"$t": key, "$p": {params}}

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)
# Whether the reader asked for the language (Accept-Language) rather than getting the shop's default;
# an answer to a question asked in the other language follows the question unless the reader asked.
_asked: contextvars.ContextVar[bool] = contextvars.ContextVar("language_asked", default=False)
SOURCE_HEADER = "X-Shopmind-Language-Source"  # "request" or "shop": how the gateway chose it


@cache
def catalogue(language: str) -> dict[str, str]:
    """key -> template, the TOML tables flattened to dotted keys."""
    with open(CATALOGUES / f"{language}.toml", "rb") as handle:
        tree = tomllib.load(handle)
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Mapping) -> None:
        for name, value in node.items():
            if isinstance(value, Mapping):
                walk(f"{prefix}{name}.", value)
            else:
                flat[f"{prefix}{name}"] = value

    walk("", tree)
    return flat


class Message:
    """A catalogue key and its values, rendered when shown (``str()`` uses the current language)."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, params: dict[str, Any] | None = None):
        self.key, self.params = key, params or {}

    def render(self, language: str | None = None) -> str:
        language = language or _language.get()
        template = catalogue(language)[self.key]
        if isinstance(template, list):
            raise TypeError(f"{self.key} is a list: read it with i18n.entries")
        values = {name: render(value, language) for name, value in self.params.items()}
        return template.format(**values)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"t({self.key!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)

    def format(self, **values: Any) -> Message:
        """Add values, as ``str.format`` would fill them (marshmallow's validators call this)."""
        return Message(self.key, {**self.params, **values})

    def __contains__(self, text: str) -> bool:  # "x" in message, as with the plain strings it replaced
        return text in self.render()

    def startswith(self, prefix: str) -> bool:
        return self.render().startswith(prefix)

    def __add__(self, other: object) -> str:  # "prefix " + message, as plain strings did
        return self.render() + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + self.render()

    def to_json(self) -> dict:
        return {MARKER: self.key, "$p": to_json(self.params)}


class LazyText(str):
    """A catalogue message that is also a ``str``, for libraries that accept nothing else
    (marshmallow's default error messages). Formatting it for an error (with ``input=``, as
    marshmallow does when a value fails) renders it in the current language; formatting without
    ``input`` (a validator filling in its bounds when it is created) keeps it lazy."""

    key: str
    params: dict

    def __new__(cls, key: str, params: dict | None = None) -> LazyText:
        text = super().__new__(cls, key)
        text.key, text.params = key, params or {}
        return text

    def format(self, *args: Any, **values: Any) -> str:
        merged = {**self.params, **values}
        return Message(self.key, merged).render() if "input" in values else LazyText(self.key, merged)

    def __str__(self) -> str:
        return Message(self.key, self.params).render()


def t(key: str, **params: Any) -> Message:
    """The message ``key`` with its values; an unknown key fails at once, not when shown."""
    if key not in catalogue(DEFAULT_LANGUAGE):
        raise KeyError(f"no message {key!r} in the catalogue")
    return Message(key, params)


def said(exc: BaseException) -> Message | str:
    """What an exception says, kept as a message when it was raised with one (so it renders in
    its eventual reader's language rather than the one in force where it was caught)."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, Message) else str(exc)


def join(items: list) -> Message | str:
    """Items as one list in the reader's language ("a、b" / "a, b"); each may be a Message."""
    if not items:
        return ""
    joined = items[0]
    for item in items[1:]:
        joined = Message("common.list", {"first": joined, "second": item})
    return joined


def label(section: str, value: str) -> Message | str:
    """A value the catalogue may have words for (a built-in aspect such as 物流, in section
    ``aspect``); any other value is shown as it is (a shop's own aspect, a category)."""
    key = f"{section}.{value}"
    return Message(key) if key in catalogue(DEFAULT_LANGUAGE) else value


def current_language() -> str:
    return _language.get()


def set_language(language: str, asked: bool = False) -> contextvars.Token:
    _asked.set(asked)
    return _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def reset_language(token: contextvars.Token) -> None:
    """Undo :func:`set_language`; a copy of the request's context (an aggregate's worker thread)
    may end the request, and there the language simply goes back to the default."""
    try:
        _language.reset(token)
    except ValueError:
        _language.set(DEFAULT_LANGUAGE)
    _asked.set(False)


def language_was_asked() -> bool:
    return _asked.get()


def entries(key: str, language: str | None = None) -> list[str]:
    """A catalogue entry that is a list (example questions, say), in ``language``."""
    value = catalogue(language or _language.get())[key]
    return list(value) if isinstance(value, list) else [value]


@contextmanager
def use_language(language: str | None) -> Iterator[str]:
    token = set_language(language or DEFAULT_LANGUAGE)
    try:
        yield _language.get()
    finally:
        _language.reset(token)


def negotiate(accept_language: str | None) -> str | None:
    """The supported language an ``Accept-Language`` header prefers, or None if it names none."""
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        language = _supported(tag.strip())
        if language and weight > 0:
            ranked.append((weight, -position, language))  # earlier entries win ties
    return max(ranked)[2] if ranked else None


def _supported(tag: str) -> str | None:
    tag = tag.lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-CN"  # one Chinese catalogue, simplified; 繁體 readers get it too, for now
    if tag.startswith("en"):
        return "en"
    return None


def render(value: Any, language: str | None = None) -> Any:
    """``value`` with every Message (or kept marker) rendered; dicts and lists are walked."""
    if isinstance(value, Message):
        return value.render(language)
    if isinstance(value, LazyText):
        return Message(value.key, value.params).render(language)
    if isinstance(value, dict):
        if _is_marker(value):
            return Message(value[MARKER], value.get("$p") or {}).render(language)
        return {k: render(v, language) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, language) for v in value]
    return value


def _is_marker(value: dict) -> bool:
    """A kept Message, not a shop's own data that happens to use the key (product attributes, say)."""
    key = value.get(MARKER)
    return set(value) <= {MARKER, "$p"} and isinstance(key, str) and key in catalogue(DEFAULT_LANGUAGE)


def to_json(value: Any) -> Any:
    """``value`` with every Message kept as a marker, to store and render later."""
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def dumps_text(value: str | Message | None) -> str | None:
    """A text column's content: a plain string, or a Message kept as JSON."""
    if isinstance(value, Message):
        return json.dumps(value.to_json(), ensure_ascii=False)
    return value


def loads_text(stored: str | None, language: str | None = None) -> str | None:
    if stored and stored.startswith('{"' + MARKER):
        try:
            return render(json.loads(stored), language)
        except (ValueError, KeyError):
            return stored
    return stored


_FIELD = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)")


def placeholders(template: str | list[str]) -> set[str]:
    if isinstance(template, list):
        return {f"#{len(template)}"}  # lists match by length
    return set(_FIELD.findall(template))
