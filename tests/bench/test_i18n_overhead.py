"""What answering in the reader's language costs a request: a recommendation answer (10 items,
each reason a catalogue message naming an item) serialised by the services' JSON provider, which
renders every message, vs the same answer with its reasons already plain strings.

Both in this process, the same run, the same answer; the figure is the ratio and the extra
microseconds per answer. Run alone with
`.venv/bin/python -m pytest tests/bench/test_i18n_overhead.py -q -s -p no:cacheprovider`.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask

from shared import i18n
from shared.i18n import t
from shared.web import JSONProvider

ROUNDS = 20_000


def _answer(reason) -> dict:
    return {"user_id": "tb_8f3k2", "model_version": 3, "fallback": None, "message": None,
            "items": [{"item_id": f"23890123{i:04d}", "score": 0.91 - i / 100, "reason": reason(i)}
                      for i in range(10)]}


def _per_answer_us(provider: JSONProvider, answer: dict) -> float:
    started = time.perf_counter()
    for _ in range(ROUNDS):
        provider.dumps(answer)
    return (time.perf_counter() - started) / ROUNDS * 1e6


@pytest.mark.bench
def test_rendering_messages_costs_a_request_little():
    provider = JSONProvider(Flask("bench"))
    because = lambda i: t("recommendation.because", verb=t("recommendation.verb_buy"),  # noqa: E731
                          item=t("recommendation.item_title", title=f"2024夏季新款简约中长款半身裙女 {i}"))
    lazy = _answer(because)
    results = {}
    for language in ("zh-CN", "en"):
        with i18n.use_language(language):
            plain = _answer(lambda i: because(i).render())
            assert provider.dumps(lazy) == provider.dumps(plain)  # the same bytes either way
            results[language] = (_per_answer_us(provider, plain), _per_answer_us(provider, lazy))
    for language, (plain_us, lazy_us) in results.items():
        print(f"\n{language}: plain strings {plain_us:.1f} µs/answer, messages {lazy_us:.1f} µs/answer "
              f"(+{lazy_us - plain_us:.1f} µs, {lazy_us / plain_us:.2f}x)")
        assert lazy_us - plain_us < 1000  # far below a millisecond per answer
