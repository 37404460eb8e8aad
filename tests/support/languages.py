"""Walk every route of a shop in one language and find text written in the other.

A human-readable field (a reason, a summary, an error's detail ...) must be in the language the
request asked for. The shop's own data (item titles, categories, brands, places, ids) is left in
whatever language the shop wrote it in, so those values are removed before looking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Fields whose values people read; everything else is data, ids, numbers or enums.
HUMAN_FIELDS = {"reason", "summary", "message", "detail", "title", "note", "notes", "advice", "text",
                "promotion", "retriever_choice", "suggestions", "description", "errors", "preset_reason",
                "evaluation"}
# Subtrees that hold data (the shop's, or codes), never our sentences.
DATA_FIELDS = {"column_mapping", "params", "quality", "rows", "data", "interpretation", "columns_seen",
               "columns_ignored", "columns_dropped_pii", "columns_hashed", "metrics", "baselines"}
HAN = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u303f]")
# Latin text a Chinese sentence may carry: API paths, environment variables, units, codes.
LATIN_ALLOWED = re.compile(
    r"JSON Lines|https?://\S+|/v1/[\w/{}.?=&%-]*|/openapi\.json|(?-i:\b(?:GET|POST|PUT|PATCH|DELETE)\b)|SHOPMIND_\w+|"
    r"(?-i:\b[A-Z][A-Z0-9]{1,5}\b)|\b[a-z_]+\.[a-z_]+\b|\b(?:p10|p50|p90|id|csv|json|jsonl|xlsx|xls|xlsb|utf-8|gbk|"
    r"gb18030|sku|api|url|zip|gzip|k|n|v)\b|\b(?:recall|ndcg|hr|map|precision)@\d+|\b\w*_\w+\b|`[^`]*`|\b[A-Za-z]\d+\b|"
    r"\b(?:Excel|Tmall|Taobao|Tianchi|Swagger|Alipay|WeChat|shopmind|Webhook|https?)\b", re.IGNORECASE)
QUOTED = re.compile(r"'[^']*'|“[^”]*”")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass
class Finding:
    route: str
    field: str
    text: str


def human_texts(value, field: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) of every human-readable string in a JSON value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{field}.{key}" if field else str(key)
            if key in DATA_FIELDS:
                continue
            if key in HUMAN_FIELDS and not (key == "advice" and isinstance(inner, dict)):
                # (a decision's "advice" is the frozen advice: a record of codes and numbers)
                yield from _strings(inner, path)
            else:
                yield from human_texts(inner, path)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from human_texts(inner, f"{field}[{index}]")


def _strings(value, field: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{field}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{field}[{index}]")


def foreign(text: str, language: str, shop_words: list[str]) -> str | None:
    """The part of ``text`` written in the other language, if any (shop data removed first)."""
    for word in shop_words:  # longest first, so a title goes before the category inside it
        if word and word in text:
            text = text.replace(word, " ")
    if language == "en":
        text = QUOTED.sub(" ", text)  # a value the caller sent, quoted back to them
        found = HAN.findall(text)
        return "".join(found) if found else None
    stripped = LATIN_ALLOWED.sub(" ", text)
    words = LATIN_WORD.findall(stripped)
    return " ".join(words) if words else None


def check(route: str, body, language: str, shop_words: list[str]) -> list[Finding]:
    words = sorted(shop_words, key=len, reverse=True)
    return [Finding(route, field, text) for field, text in human_texts(body) if foreign(text, language, words)]


def walk(call: Callable[[str, str, dict | None], tuple[int, object]],
         ids: dict) -> Iterator[tuple[str, int, object, list[str]]]:
    """Call every read route (and the read-like POSTs) of the API with real ids of the shop, plus
    a few requests that fail, yielding (route, status, body, the caller's own words): a question
    may be quoted back ("no city called 拉萨"), which is the caller's language, not ours."""
    item, user, segment = ids["item_id"], ids["user_id"], ids.get("segment")
    requests = [
        ("GET", "/v1/shops/current", None), ("GET", "/v1/dashboard", None),
        ("GET", f"/v1/items/{item}/overview", None), ("GET", "/v1/jobs?limit=20", None),
        ("GET", "/v1/models?limit=20", None), ("GET", "/v1/keys", None), ("GET", "/v1/webhooks", None),
        ("GET", "/v1/imports/presets", None),
        ("GET", f"/v1/recommendations/users/{user}?n=5", None),
        ("GET", "/v1/recommendations/users/never-seen-1?n=5", None),
        ("GET", f"/v1/recommendations/items/{item}/similar?n=5", None),
        ("GET", f"/v1/recommendations/items/{item}/bought-together?n=5", None),
        ("GET", "/v1/recommendations/items/no-such-item/bought-together?n=5", None),
        ("GET", "/v1/recommendations/popular?n=5", None),
        ("POST", "/v1/recommendations/session", {"item_ids": [item], "n": 5}),
        ("GET", f"/v1/forecasts/items/{item}?horizon=14", None), ("GET", "/v1/forecasts/categories", None),
        ("GET", "/v1/forecasts/backtest", None), ("GET", "/v1/replenishment?limit=20", None),
        ("POST", "/v1/sentiment/analyze", {"texts": ["质量不错，物流太慢了", "", "!!!"]}),
        ("GET", f"/v1/sentiment/items/{item}", None), ("GET", "/v1/sentiment/items/no-such-item", None),
        ("GET", "/v1/sentiment/alerts", None), ("GET", "/v1/sentiment/aspects", None),
        ("GET", f"/v1/pricing/items/{item}", None), ("GET", "/v1/pricing/suggestions?limit=20", None),
        ("POST", "/v1/pricing/simulate", {"item_id": item, "price": 99}), ("GET", "/v1/pricing/competitors", None),
        ("GET", "/v1/pricing/rules", None),
        ("GET", "/v1/segments", None), ("GET", "/v1/anomalies?metric=revenue&days=90", None),
        ("GET", "/v1/sentiment/categories", None), ("GET", f"/v1/recommendations/users/{user}/history", None),
        ("GET", "/v1/alerts", None), ("GET", "/v1/decisions", None), ("GET", "/v1/decisions/audit", None),
        ("POST", "/v1/decisions", {"kind": "price_change", "item_id": item, "status": "rejected"}),
        ("POST", "/v1/decisions", {"kind": "campaign", "item_id": item}),
        ("POST", "/v1/decisions", {"kind": "price_change", "item_id": "no-such-item"}),
        ("GET", "/v1/decisions/123456789012", None),
        ("GET", "/v1/anomalies?metric=orders&days=30", None),
        # failures: each must say what to fix in the reader's language
        ("GET", "/v1/forecasts/items/no-such-item", None), ("GET", "/v1/jobs/no-such-job", None),
        ("POST", "/v1/jobs/no-such-job/cancel", None),
        ("GET", "/v1/recommendations/popular?n=1000", None), ("POST", "/v1/ask", {"question": "今天天气怎么样"}),
        ("POST", "/v1/ask", {"question": "本月上海的销售额", "as_of": "not a date"}),
        ("POST", "/v1/ask", {"question": "本月拉萨的销售额"}), ("GET", "/v1/nothing-here", None),
        ("POST", "/v1/pricing/simulate", {"item_id": item, "price": -1}),
        ("POST", "/v1/webhooks", {"url": "http://example.com/hook", "events": ["nope"], "secret": "x"}),
    ]
    if segment:
        requests.append(("GET", f"/v1/segments/{segment}/customers?limit=5", None))
    if ids.get("finished_job_id"):  # cancelling a finished job: a 409 that says why
        requests.append(("POST", f"/v1/jobs/{ids['finished_job_id']}/cancel", None))
    for question in ("本月热销商品排名", "最近7天每天的销售额趋势", "本月和上月销售额对比", "各品类销售额占比",
                     "今年各客户分群的销售额占比", "本月的转化率", "本月好评率", "top 5 products this month",
                     "revenue this month vs last month", "sales by category this year"):
        requests.append(("POST", "/v1/ask", {"question": question}))
    for method, path, body in requests:
        status, answer = call(method, path, body)
        own = [*re.findall(r"[\u4e00-\u9fff]+", (body or {}).get("question", "")), *path.split("?")[0].split("/"),
               *(v for v in (body or {}).values() if isinstance(v, str) and v.startswith("no-such"))]
        yield f"{method} {path}", status, answer, own
