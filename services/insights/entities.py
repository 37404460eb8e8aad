"""Which of the shop's own values a question names: categories, brands, provinces, cities and item
titles, written exactly, shortened, misspelt or in pinyin. Pure: no Flask, no SQL.

The vocabulary is the shop's (``Vocabulary.build`` from its distinct values, once a minute); the
question's words are found in this order, each on what the earlier steps left:

1. exact forms, longest first: the value, and without 省/市 (浙江省 → 浙江, 深圳市 → 深圳);
2. places by ``cpca`` (广东 → 广东省, 新疆 → 新疆维吾尔自治区, 北京 → 北京市), mapped to the shop's
   names; a municipality named alone is the city (北京 → city 北京市);
3. fuzzy, on the words no table read, each whole jieba tokens (so 从国庆到现在 never yields 青岛):
   the same toneless pinyin sharing a character (杭洲 → 杭州市, 北极路 → 北极鹿), pinyin written in
   Latin letters (shenzhen → 深圳市), the unique prefix of a longer name (花间 → 花间集, 数码 → 数码配件),
   a four-character name with its halves swapped (户外运动 → 运动户外), a two-character one reversed
   when that is no word (径野 → 野径), one character off in a name of
   three or more (水之雨 → 水之语), and for item titles a distinctive run of the title (≥ 4 characters).

What looks like a name but is none of the shop's is returned too (``Linked.unknown``), so the caller
can say 422 "no 拉萨 in this shop" instead of answering for the whole shop.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache

import jieba
from pypinyin import lazy_pinyin
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from services.insights.vocabulary import CATEGORY_ALIASES

DIMENSIONS = ("category", "brand", "province", "city", "item")
MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
PLACE_SUFFIXES = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
HAN = re.compile(r"[\u4e00-\u9fff]+")
LATIN = re.compile(r"[a-z][a-z']+")
MIN_TITLE_RUN = 4  # characters of an item title a question must quote to name the item
# jieba's dictionary count above which a word is everyday language (贡献 5762, 衣服 5052), not a
# brand or a place (耐克 30, 华为 373, 拉萨 568)
COMMON_WORD_FREQ = 2000

jieba.setLogLevel(logging.WARNING)


@dataclass(frozen=True)
class Mention:
    dimension: str
    value: str  # the shop's own value (the item id for items)
    at: tuple[int, int]
    how: str  # exact | alias | place | pinyin | latin | prefix | swap | typo | title

    @property
    def exact(self) -> bool:
        return self.how in ("exact", "place")


@dataclass
class Linked:
    mentions: list[Mention] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # place names the shop does not have


def short_form(value: str) -> str:
    short = PLACE_SUFFIXES.sub("", value)
    return short if len(short) >= 2 else value


@cache
def _pinyin(text: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(text))


@dataclass
class Vocabulary:
    """The shop's values, with the forms and pinyin the linker looks for (built once per refresh)."""

    values: dict[str, list[str]]
    titles: dict[str, str] = field(default_factory=dict)  # item id -> title
    province_of: dict[str, str] = field(default_factory=dict)  # city -> its province (short form), by cpca
    # (form, dimension, value, how), longest first
    forms: list[tuple[str, str, str, str]] = field(default_factory=list)

    @classmethod
    def build(cls, values: dict[str, list[str]], titles: dict[str, str] | None = None) -> Vocabulary:
        vocabulary = cls({k: [v for v in values.get(k, []) if v and len(v) >= 2] for k in DIMENSIONS if k != "item"},
                         titles or {})
        forms = {}
        for dimension in ("category", "brand", "province", "city"):
            for value in vocabulary.values[dimension]:
                for form in (value.lower(), short_form(value).lower()):
                    # a municipality is a city first: 北京 → city 北京市, not province 北京
                    if form not in forms or (dimension == "city" and forms[form][0] == "province"):
                        forms[form] = (dimension, value, "exact")
        for value in vocabulary.values["category"]:  # "beauty", "化妆品": the shop's 美妆
            for alias in CATEGORY_ALIASES.get(value, ()):
                forms.setdefault(alias.lower(), ("category", value, "alias"))
        vocabulary.forms = sorted(((f, *rest) for f, rest in forms.items()), key=lambda x: -len(x[0]))
        vocabulary.province_of = _provinces_of(vocabulary.values["city"])
        return vocabulary

    def names(self, dimensions=("category", "brand", "city", "province")) -> list[tuple[str, str]]:
        return [(d, v) for d in dimensions for v in self.values.get(d, [])]


def _taker(linked: Linked, free: list[bool]):
    def take(dimension: str, value: str, start: int, end: int, how: str) -> None:
        linked.mentions.append(Mention(dimension, value, (start, end), how))
        for i in range(start, end):
            free[i] = False
    return take


def _provinces_of(cities: list[str]) -> dict[str, str]:
    if not cities:
        return {}
    import cpca

    places = cpca.transform(cities).to_dict("records")
    return {city: short_form(place["省"]) for city, place in zip(cities, places, strict=True) if place.get("省")}


def link_exact(text: str, free: list[bool], vocabulary: Vocabulary, linked: Linked) -> None:
    """Steps 1–2 on lower-cased ``text`` where ``free`` (one flag per character) says nothing has
    read the character yet; marks what it links as read."""
    take = _taker(linked, free)
    for form, dimension, value, how in vocabulary.forms:
        # a name in letters is a whole word ("home" is not in "homepage")
        pattern = rf"(?<![a-z0-9]){re.escape(form)}(?![a-z0-9])" if form.isascii() else re.escape(form)
        for found in re.finditer(pattern, text):
            if all(free[found.start():found.end()]):
                take(dimension, value, found.start(), found.end(), how)
    _places(text, free, vocabulary, linked, take)
    linked.mentions.sort(key=lambda m: m.at)


def link_fuzzy(text: str, free: list[bool], vocabulary: Vocabulary, linked: Linked) -> None:
    """Step 3, on what no table read."""
    take = _taker(linked, free)
    boundaries = _token_boundaries(text)
    for run in HAN.finditer("".join(c if free[i] else " " for i, c in enumerate(text))):
        _fuzzy_han(text, run.start(), run.end(), boundaries, vocabulary, take, free)
    for token in LATIN.finditer(text):
        if all(free[token.start():token.end()]):
            match = _latin(token.group(), vocabulary)
            if match:
                take(*match, token.start(), token.end(), "latin")
    linked.mentions.sort(key=lambda m: m.at)


PROPER_NOUNS = ("nr", "nrt", "nz", "ns", "nt")  # jieba's part-of-speech tags of names


def looks_like_name(word: str) -> bool:
    """A brand, person or place name by jieba's tags, or a word its dictionary does not know, and
    not everyday language: 耐克, 华为 (but not 咱家, 请问, 东西)."""
    import jieba.posseg  # its tagger loads on first use

    if common_word(word):
        return False
    return all(pair.flag in PROPER_NOUNS or pair.word not in jieba.dt.FREQ or len(pair.word) == 1
               for pair in jieba.posseg.lcut(word, HMM=False))


def common_word(word: str) -> bool:
    """Made only of everyday words (贡献, 带来, 衣服) — not a name a shop would filter on."""
    return all(len(token) == 1 or jieba.dt.FREQ.get(token, 0) >= COMMON_WORD_FREQ
               for token in jieba.lcut(word, HMM=False))


def _token_boundaries(text: str) -> set[int]:
    cuts, at = {0}, 0
    for token in jieba.lcut(text, HMM=False):
        at += len(token)
        cuts.add(at)
    return cuts


def _places(text, free, vocabulary, linked, take) -> None:
    """Provinces and cities ``cpca`` finds; a place the shop has not got is reported as unknown."""
    import cpca  # loads its tables (and pandas) on first use

    masked = "".join(c if free[i] else "　" for i, c in enumerate(text))
    if not HAN.search(masked):
        return
    try:
        places = cpca.transform_text_with_addrs(masked, pos_sensitive=True).to_dict("records")
    except KeyError:  # cpca raises on text with no place at all
        return
    boundaries = None
    for place in places:
        for level, column in (("province", "省"), ("city", "市")):
            at = place.get(f"{column}_pos", -1)
            name = place.get(column)
            if at is None or at < 0 or not name:
                continue
            size = _common_prefix(masked[at:], name)
            if size < 2 or not all(free[at:at + size]):
                continue
            if size < len(name):  # a short form (中山 in 中山装 is no place): it must be a whole word
                boundaries = boundaries or _token_boundaries(text)
                if at not in boundaries or at + size not in boundaries:
                    continue
            dimension, value = _shop_place(level, name, vocabulary)
            if value:
                take(dimension, value, at, at + size, "place")
            else:
                linked.unknown.append(masked[at:at + size])
                for i in range(at, at + size):
                    free[i] = False


def _common_prefix(text: str, name: str) -> int:
    size = 0
    while size < min(len(text), len(name)) and text[size] == name[size]:
        size += 1
    return size


def _shop_place(level: str, name: str, vocabulary: Vocabulary) -> tuple[str, str | None]:
    """The shop's own name for a place cpca read (cpca: 北京市 the province; the shop: city 北京市)."""
    short = short_form(name)
    if level == "province" and short in MUNICIPALITIES:
        for city in vocabulary.values["city"]:
            if short_form(city) == short:
                return "city", city
    for value in vocabulary.values[level]:
        if value == name or short_form(value) == short:
            return level, value
    return level, None


def _fuzzy_han(text, start, end, boundaries, vocabulary, take, free) -> None:
    """Windows of 2–6 characters starting and ending on jieba token boundaries, longest first."""
    for size in range(min(6, end - start), 1, -1):
        for at in range(start, end - size + 1):
            if at not in boundaries or at + size not in boundaries or not all(free[at:at + size]):
                continue
            window = text[at:at + size]
            match = _fuzzy(window, vocabulary)
            if match:
                take(match[0], match[1], at, at + size, match[2])
    return None


def _fuzzy(window: str, vocabulary: Vocabulary) -> tuple[str, str, str] | None:
    sound = _pinyin(window)
    for dimension, value in vocabulary.names():
        for form in {value, short_form(value)}:
            if len(form) == len(window) and _pinyin(form) == sound and set(form) & set(window) - {"市"}:
                return dimension, value, "pinyin"
    prefixed = [(d, v) for d, v in vocabulary.names() if len(short_form(v)) >= 3 and short_form(v).startswith(window)
                and len(window) < len(short_form(v))]
    if len(prefixed) == 1:
        return (*prefixed[0], "prefix")  # 花间 → 花间集, 内蒙 → 内蒙古自治区
    suffixed = [(d, v) for d, v in vocabulary.names(("category",)) if len(v) >= 4 and v.endswith(window)
                and len(window) >= 2]
    if len(suffixed) == 1:
        return (*suffixed[0], "prefix")  # 户外 → 运动户外, 配件 → 数码配件
    if len(window) == 2 and window.endswith("市") and not common_word(window):  # not 上市
        cities = [v for v in vocabulary.values["city"] if v.startswith(window[0])]
        if len(cities) == 1:
            return "city", cities[0], "prefix"  # 乌市 → 乌鲁木齐市
    for dimension, value in vocabulary.names(("category", "brand")):
        if len(value) == 4 == len(window) and window == value[2:] + value[:2]:
            return dimension, value, "swap"
        if len(value) == 2 == len(window) and window == value[::-1] and window not in jieba.dt.FREQ:
            return dimension, value, "swap"  # 径野 → 野径, 禾青 → 青禾: never a word of its own
        if len(value) >= 3 and len(value) == len(window) and sorted(value) == sorted(window):
            return dimension, value, "swap"  # 行山者 → 山行者, 野山记 → 山野记
        if len(value) >= 3 and len(value) == len(window) and value[0] == window[0] and \
                Levenshtein.distance(value, window) == 1:
            return dimension, value, "typo"
    if window not in jieba.dt.FREQ:  # 安微 → 安徽省; never a real word (陕西/山西 are both places)
        places = [(d, v) for d, v in vocabulary.names(("province", "city")) if len(short_form(v)) == len(window)
                  and short_form(v)[0] == window[0] and Levenshtein.distance(short_form(v), window) == 1]
        if len(places) == 1:
            return (*places[0], "typo")
    if len(window) >= MIN_TITLE_RUN and vocabulary.titles:
        return _title(window, vocabulary)
    return None


def _title(window: str, vocabulary: Vocabulary) -> tuple[str, str, str] | None:
    """The one item whose title contains ``window`` (or nearly: one character off)."""
    holding = [item for item, title in vocabulary.titles.items() if window in title.lower()]
    if len(holding) == 1:
        return "item", holding[0], "title"
    if holding:
        return None
    best = process.extract(window, vocabulary.titles, scorer=_partial_distance, limit=2)
    if best and best[0][1] <= 1 and (len(best) == 1 or best[1][1] > 1):
        return "item", best[0][2], "title"
    return None


def _partial_distance(window: str, title: str, **_kwargs) -> int:
    title = title.lower()
    if len(title) < len(window):
        return len(window)
    return min(Levenshtein.distance(window, title[i:i + len(window)]) for i in range(len(title) - len(window) + 1))


def _latin(token: str, vocabulary: Vocabulary) -> tuple[str, str] | None:
    """shenzhen → 深圳市, zhejiang → 浙江省 (cities before provinces: beijing is the city)."""
    for dimension in ("city", "province", "category", "brand"):
        for value in vocabulary.values[dimension]:
            if "".join(_pinyin(short_form(value))) == token or "".join(_pinyin(value)) == token:
                return dimension, value
    if len(token) >= 6:  # hangzou → 杭州市: one letter off a name's pinyin, and no other name as close
        close = [(d, v) for d in ("city", "province", "brand", "category") for v in vocabulary.values[d]
                 if Levenshtein.distance("".join(_pinyin(short_form(v))), token) <= 1]
        if len(close) == 1:
            return close[0]
    return None


def close_values(value: str, vocabulary: Vocabulary, limit: int = 3) -> list[str]:
    """The shop's values nearest to an unknown one, for "did you mean" (by characters, then pinyin)."""
    names = [v for _d, v in vocabulary.names()]
    near = [name for name, score, _ in process.extract(value, names, limit=limit) if score >= 40]
    return near or [v for v in names if set(v) & set(value)][:limit]
