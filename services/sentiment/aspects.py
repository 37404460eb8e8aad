"""Which aspect of a purchase each clause of a review talks about (物流, 质量, 尺码, ...).

A review is cut into clauses at punctuation and at contrast words (但是, 不过, 可是, ...), because
"质量还行但是物流太慢" praises one thing and blames another. A clause is about an aspect when it
contains one of the aspect's terms. Some terms are generic ("态度", "速度") and only count when no
specific term of another aspect is in the clause: "快递员态度很差" is about 物流, not 客服.
Shops add their own terms per aspect (or whole new aspects) with ``Lexicon.extended``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

# aspect -> (specific terms, generic terms). Order is the order of the answer's ties.
DEFAULT_TERMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "物流": (("物流", "快递", "发货", "送货", "配送", "派送", "到货", "送达", "顺丰", "中通", "圆通", "韵达", "申通",
             "京东快递", "邮政", "运输", "快递员", "物流速度", "揽收", "签收"), ("速度", "才到")),
    "质量": (("质量", "做工", "品质", "质感", "材质", "面料", "用料", "手感", "耐用", "结实", "线头", "开线", "瑕疵",
             "坏了", "坏掉", "变形", "破洞", "起球", "接触不良", "粗糙", "精细", "做工精细"), ("东西", "产品")),
    "价格": (("价格", "性价比", "价钱", "价位", "便宜", "实惠", "划算", "降价", "贵", "优惠", "不值", "值这个价",
             "物超所值", "物美价廉"), ()),
    "客服": (("客服", "售后", "卖家", "商家", "店家", "掌柜", "回复"),
           ("态度", "服务", "耐心")),
    "包装": (("包装", "外包装", "盒子", "包装盒", "封口", "包裹", "箱子", "纸箱", "压坏", "压坏了", "破损"), ()),
    "尺码": (("尺码", "尺寸", "码数", "大小", "偏大", "偏小", "合身", "太大", "太小", "号码", "大一码", "小一码",
             "版型"), ()),
    "颜色": (("颜色", "色差", "掉色", "褪色", "色泽", "染色", "发黄", "颜色正"), ()),
    "气味": (("气味", "味道", "异味", "臭", "刺鼻", "香味", "甲醛", "气味大", "有味"), ()),
    "真假": (("正品", "假货", "真假", "山寨", "仿冒", "假的", "高仿", "不是正品", "专柜", "防伪"), ()),
    "效果": (("效果", "好用", "功能", "性能", "续航", "音质", "保湿", "吸收", "过敏"), ("使用", "用着")),
    "新鲜": (("新鲜", "口感", "好吃", "难吃", "变质", "过期", "保质期", "受潮", "腐烂", "烂了"), ()),
}

# Clause boundaries: punctuation (full- and half-width), line breaks, and contrast/concession words.
_PUNCTUATION = r"[，,。.！!？?；;：:、~～…\n\r\t]+|\s{2,}"
_CONTRAST = ("但是", "不过", "可是", "然而", "只是", "就是", "虽然", "但", "却")
# 但 starts a clause unless it is part of 不但/非但 ("not only").
_SPLIT = re.compile(_PUNCTUATION + "|(?<![不非])(?=但)|(?=" + "|".join(("不过", "可是", "然而", "只是")) + ")")
_LEADING_LINK = re.compile("^(?:" + "|".join(_CONTRAST) + ")")


def clauses(text: str) -> list[str]:
    """The clauses of ``text``, without their leading contrast word; empty pieces dropped."""
    pieces = (_LEADING_LINK.sub("", p.strip()) for p in _SPLIT.split(text) if p)
    return [p.strip() for p in pieces if p.strip()]


@dataclass(frozen=True)
class Lexicon:
    """Aspect terms: ``terms[aspect] = (specific, generic)``."""

    terms: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=lambda: dict(DEFAULT_TERMS))

    def extended(self, extra: dict[str, list[str]] | None) -> Lexicon:
        """A copy with a shop's extra specific terms per aspect (a new aspect name starts a new aspect)."""
        terms = dict(self.terms)
        for aspect, words in (extra or {}).items():
            specific, generic = terms.get(aspect, ((), ()))
            added = tuple(w.strip() for w in words if w and w.strip() and w.strip() not in specific)
            terms[aspect] = (specific + added, generic)
        return Lexicon(terms)

    def aspects_of(self, clause: str) -> list[str]:
        """Aspects ``clause`` talks about: those with a specific term in it, else those with a generic one.
        A term inside a longer term of another aspect does not count ("压坏了" is 包装, not 坏了 质量)."""
        return self._matches(clause, 0) or self._matches(clause, 1)

    def _matches(self, clause: str, kind: int) -> list[str]:
        pattern, owner = self._patterns[kind]
        if pattern is None:
            return []
        found = {aspect for match in pattern.finditer(clause) for aspect in owner[match.group()]}
        return [a for a in self.terms if a in found]

    @functools.cached_property
    def _patterns(self) -> tuple[tuple[re.Pattern | None, dict[str, list[str]]], ...]:
        """Per kind (specific, generic): one alternation of every term, longest first, so a match is
        leftmost-longest and a shorter term inside it is not matched; and which aspects own each term."""
        compiled = []
        for kind in (0, 1):
            owner: dict[str, list[str]] = {}
            for aspect, terms in self.terms.items():
                for term in terms[kind]:
                    owner.setdefault(term, []).append(aspect)
            ordered = sorted(owner, key=len, reverse=True)
            compiled.append((re.compile("|".join(map(re.escape, ordered))) if ordered else None, owner))
        return tuple(compiled)

    def to_json(self) -> dict:
        return {a: [list(s), list(g)] for a, (s, g) in self.terms.items()}

    @classmethod
    def from_json(cls, data: dict) -> Lexicon:
        return cls({a: (tuple(s), tuple(g)) for a, (s, g) in data.items()})


def aspect_clauses(text: str, lexicon: Lexicon) -> list[tuple[str, str]]:
    """(aspect, clause) for every clause of ``text`` that names an aspect, in reading order.

    An aspect named in two clauses keeps the last one: in "物流慢，不过物流员很客气" the last word
    on it is the one the writer settled on."""
    found: dict[str, str] = {}
    for clause in clauses(text):
        for aspect in lexicon.aspects_of(clause):
            found.pop(aspect, None)
            found[aspect] = clause
    return list(found.items())
