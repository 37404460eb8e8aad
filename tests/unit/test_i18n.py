"""The message catalogues: the same keys and placeholders in every language, and lazy rendering."""

import json

import pytest

from shared import i18n
from tests.support.languages import foreign


def test_every_language_has_every_message_with_the_same_placeholders():
    reference = i18n.catalogue(i18n.DEFAULT_LANGUAGE)
    for language in i18n.LANGUAGES:
        other = i18n.catalogue(language)
        assert set(other) == set(reference), f"{language}: {set(other) ^ set(reference)}"
        for key, template in reference.items():
            assert i18n.placeholders(other[key]) == i18n.placeholders(template), f"{language} {key}"


def test_no_message_is_written_in_the_other_language():
    """The same rule the route walk applies to answers (tests/support/languages.py), on the templates."""
    import re

    for language in i18n.LANGUAGES:
        for key, entry in i18n.catalogue(language).items():
            for template in entry if isinstance(entry, list) else [entry]:
                text = re.sub(r"\{[^{}]*\}", "1", template)  # placeholders hold the reader's words or numbers
                assert not foreign(text, language, []), f"{language} {key}: {template}"


def test_a_message_renders_in_the_language_it_is_shown_in_and_survives_storage():
    message = i18n.t("problem.invalid_fields", fields="name")
    with i18n.use_language("en"):
        assert str(message) == "The request has invalid fields: name."
    with i18n.use_language("zh-CN"):
        assert str(message) == "请求中有无效的字段：`name`。"
    stored = json.loads(json.dumps(i18n.to_json({"note": message, "n": [message, 3]})))
    assert i18n.render(stored, "en") == {"note": "The request has invalid fields: name.",
                                         "n": ["The request has invalid fields: name.", 3]}
    assert i18n.loads_text(i18n.dumps_text(message), "zh-CN") == "请求中有无效的字段：`name`。"
    assert i18n.loads_text("plain text", "en") == "plain text"


def test_unknown_keys_fail_where_they_are_written():
    with pytest.raises(KeyError):
        i18n.t("no.such.message")


@pytest.mark.parametrize(("header", "language"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("en-US,en;q=0.9", "en"), ("fr-FR, en;q=0.5", "en"),
    ("zh-TW", "zh-CN"), ("de", None), ("", None), (None, None), ("en;q=0.2, zh;q=0.8", "zh-CN"),
    ("en;q=oops, zh", "zh-CN"), ("*", None),
])
def test_accept_language_picks_a_supported_language(header, language):
    assert i18n.negotiate(header) == language


def test_every_message_the_code_names_is_in_the_catalogue():
    """A key written in code (t("section.key") or marshmallow's validation keys) exists, so no
    request ever fails on a missing message."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    used = set()
    for path in [*(root / "services").rglob("*.py"), *(root / "shared").rglob("*.py")]:
        source = path.read_text()
        used |= set(re.findall(r'(?:\bt|LazyText)\(\s*"([a-z_0-9]+\.[a-z_0-9]+)"', source))
        used |= {f"validation.{key}" for key in re.findall(r'_message\("([a-z_0-9]+)"\)', source)}
    used.discard("forecast.note_short_history")  # the example in shared/i18n.py's docstring
    assert used - set(i18n.catalogue(i18n.DEFAULT_LANGUAGE)) == set()
