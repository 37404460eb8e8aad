"""Reading reviews: a label, a calibrated P(positive) and per-aspect sentiment for each text.

The classifier (``model.SentimentClassifier``) reads whole reviews. Each clause that names an
aspect gets its own reading, so "质量还行但是物流太慢" yields 质量 positive and 物流 negative: from
its sentiment words and negations (``polarity``) when it has any, else from the classifier, which
scores those clauses in the same batch as the reviews.
Texts it cannot read get an honest answer instead of a confident guess: empty or emoji-only texts,
and text with no Chinese at all (a short English word list, marked low confidence).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from services.sentiment.aspects import Lexicon, aspect_clauses
from services.sentiment.model import SentimentClassifier
from services.sentiment.polarity import clause_polarity
from shared.i18n import Message, t

MAX_CHARS = 1000  # longer texts are scored on their first MAX_CHARS characters (and say so)
NEUTRAL_CONFIDENCE = 0.65  # calibrated P(label) below this is "neutral": the model is unsure

_TAG = re.compile(r"<[^>]{0,200}>")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_POSITIVE_EMOJI = set("👍😊😀😁😄😃😍🥰😘❤♥💕💯👌🎉🌹☺🙂😆🤩💖")
_NEGATIVE_EMOJI = set("👎😡😠🤬😞😢😭💩😤😒🙁☹😓😫😩🤮💔")
_ENGLISH = {
    "positive": {"good", "great", "excellent", "love", "loved", "perfect", "nice", "fast", "recommend", "happy",
                 "satisfied", "awesome", "amazing", "best", "fine", "quality", "well", "worth", "beautiful", "thanks"},
    "negative": {"bad", "poor", "terrible", "awful", "broken", "slow", "worst", "fake", "refund", "return",
                 "disappointed", "disappointing", "damaged", "wrong", "late", "useless", "hate", "defective"},
}
_ENGLISH_NEGATORS = {"not", "don't", "doesn't", "didn't", "no", "never"}


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), tags stripped, entities decoded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", html.unescape(_TAG.sub(" ", text)))
    return " ".join(text.split())


@dataclass(frozen=True)
class ReviewReader:
    classifier: SentimentClassifier
    lexicon: Lexicon
    neutral_confidence: float = NEUTRAL_CONFIDENCE

    def label(self, p_positive: float) -> str:
        if max(p_positive, 1 - p_positive) < self.neutral_confidence:
            return "neutral"
        return "positive" if p_positive >= 0.5 else "negative"

    def analyze(self, texts: list[str]) -> list[dict]:
        """One result per text: label, score, aspects [{aspect, label}], and a note when it matters."""
        results: list[dict | None] = [None] * len(texts)
        to_score: list[tuple[int, str, list[tuple[str, str]]]] = []
        for i, raw in enumerate(texts):
            text = normalise(raw)
            notes = []
            if len(text) > MAX_CHARS:
                text = text[:MAX_CHARS]
                notes.append(t("sentiment.truncated", chars=MAX_CHARS))
            if not _CJK.search(text):
                results[i] = self._without_chinese(text, notes)
                continue
            to_score.append((i, text, aspect_clauses(text, self.lexicon)))
            if notes:
                results[i] = {"note": _joined(notes)}
        # One batch for whole texts and the aspect clauses without sentiment words.
        unread = {c for _i, _t, found in to_score for _a, c in found if clause_polarity(c) == 0}
        batch = [text for _i, text, _a in to_score] + sorted(unread)
        scores = self.classifier.predict_proba(batch) if batch else np.zeros(0)
        clause_score = dict(zip(batch[len(to_score):], scores[len(to_score):], strict=True))
        for k, (i, _text, found) in enumerate(to_score):
            score = float(scores[k])
            aspects = []
            for aspect, clause in found:
                words = clause_polarity(clause)
                label = ("positive" if words > 0 else "negative") if words else self.label(clause_score[clause])
                aspects.append({"aspect": aspect, "label": label, "clause": clause})
            result = {"label": self.label(score), "score": round(score, 4), "aspects": aspects}
            if results[i]:
                result.update(results[i])
            results[i] = result
        return results  # type: ignore[return-value]

    def _without_chinese(self, text: str, notes: list[Message]) -> dict:
        words = _LATIN_WORD.findall(text.lower())
        if not words:
            pos = sum(ch in _POSITIVE_EMOJI for ch in text)
            neg = sum(ch in _NEGATIVE_EMOJI for ch in text)
            if not text:
                reason = t("sentiment.empty_text")
            elif pos == neg:
                reason = t("sentiment.no_words")
            else:  # emoji only: a weak signal, kept weak
                score = 0.7 if pos > neg else 0.3
                notes.append(t("sentiment.emoji_only"))
                return {"label": "positive" if pos > neg else "negative", "score": score, "aspects": [],
                        "note": _joined(notes)}
            return {"label": "neutral", "score": 0.5, "aspects": [], "note": _joined([*notes, reason])}
        score = _english_score(words)
        notes.append(t("sentiment.no_chinese"))
        label = "neutral" if score == 0.5 else ("positive" if score > 0.5 else "negative")
        return {"label": label, "score": score, "aspects": [], "note": _joined(notes)}


def _english_score(words: list[str]) -> float:
    """A weak English reading: positive minus negative words, a negator flipping the next word."""
    balance, flip = 0, False
    for word in words:
        if word in _ENGLISH_NEGATORS:
            flip = True
            continue
        sign = 1 if word in _ENGLISH["positive"] else -1 if word in _ENGLISH["negative"] else 0
        balance += -sign if flip else sign
        flip = flip and sign == 0 and word in {"very", "so", "really", "too", "that"}
    if balance == 0:
        return 0.5
    return 0.7 if balance > 0 else 0.3


def _joined(notes: list[Message]) -> Message:
    """Several notes as one sentence."""
    joined = notes[0]
    for note in notes[1:]:
        joined = t("common.and_also", first=joined, second=note)
    return joined
