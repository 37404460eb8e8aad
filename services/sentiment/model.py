"""The review sentiment classifier: hashed TF-IDF character n-grams and a logistic regression, calibrated.

Features are the character 1–4-grams of the normalised text (full-width folded, lower case,
runs of one character cut to two), sublinear TF-IDF, L2-normalised. Chinese needs no word
boundaries for these; slang and typos still share most n-grams with the proper spelling; and a
4-gram holds a negation with what it negates ("不是很好", "不太满意"). Measured on held-out
reviews (docs/benchmarks.md), this beat adding jieba words, a block for the clause after a
contrast word, or a block of negated characters: each of those lowered accuracy. Contrast is
handled where it matters, per clause, by ``analysis`` (aspects get their own clause's sentiment).

Hashing (no stored vocabulary) keeps the artifact two arrays and the transform stateless; the
n-grams are hashed in vectorised numpy, ~4x faster than sklearn's char analyzer.

The final P(positive) is a small logistic regression fitted on held-out rows over two inputs: the
n-gram model's decision value and the review's sentiment-word balance (``polarity``: the sum over
its clauses, negation-aware, clipped to ±3). That both calibrates the probability (so a neutral
threshold on it means what it says) and lets word-level evidence the n-grams missed ("包装没有破损")
count exactly as much as held-out data says it should. Pure: no Flask, no SQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from services.sentiment.aspects import clauses
from services.sentiment.polarity import clause_polarity

# Bumped whenever features or stored fields change: a stored model of another format is rebuilt.
MODEL_FORMAT = 2
_REPEAT = re.compile(r"(.)\1{2,}")
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


def word_balance(texts: list[str]) -> np.ndarray:
    """Per text, the sum of its clauses' sentiment-word polarity, clipped to ±3."""
    return np.clip([sum(clause_polarity(c) for c in clauses(t)) for t in texts], -3, 3).astype(float)


def prepare(text: str) -> str:
    """Full-width → half-width, lower case, runs of one character cut to two (好好好好 → 好好)."""
    return _REPEAT.sub(r"\1\1", unicodedata.normalize("NFKC", text).lower())


def hashed_ngrams(texts: list[str], ngram_range: tuple[int, int], bits: int) -> sp.csr_matrix:
    """Counts of the character n-grams of each text (a row each), hashed into 2**bits columns.
    Vectorised over all characters at once: ~4x sklearn's char analyzer, which builds a Python
    string per n-gram; no n-gram runs from one text into the next."""
    shape = (len(texts), 2 ** bits)
    lengths = np.fromiter(map(len, texts), count=len(texts), dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return sp.csr_matrix(shape, dtype=np.float32)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    text_of = np.repeat(np.arange(len(texts)), lengths)
    to_end = np.arange(total) - np.repeat(np.cumsum(lengths), lengths)  # position minus its text's end
    out_rows, out_cols = [], []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        starts = np.nonzero(to_end + n <= 0)[0]  # n-grams that end inside their text
        h = np.full(len(starts), (n * 0x9E3779B97F4A7C15) % 2**64, dtype=np.uint64)
        for k in range(n):  # FNV-style mixing of the code points, then a final avalanche
            h = (h ^ codes[starts + k]) * _FNV_PRIME
        h ^= h >> np.uint64(29)
        h *= _MIX
        h ^= h >> np.uint64(32)
        out_rows.append(text_of[starts])
        out_cols.append((h >> np.uint64(64 - bits)).astype(np.int64))
    r, c = np.concatenate(out_rows), np.concatenate(out_cols)
    matrix = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=shape)
    matrix.sum_duplicates()
    return matrix


@dataclass(frozen=True)
class FeatureConfig:
    char_ngrams: tuple[int, int] = (1, 4)
    bits: int = 21  # 2**21 hashed columns: ~1.4 M distinct n-grams in the default corpus + a shop's
    min_df: int = 2  # a hashed n-gram seen in fewer training texts gets no weight


@dataclass
class SentimentClassifier:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    C: float = 10.0  # little regularisation: with ~20k+ texts the n-gram weights are well determined
    # Fitted state: idf per hashed column (0 = unused), coefficients, intercept, and the final
    # combination: P = sigmoid(a * decision + w * word_balance + b), as (a, w, b).
    idf: np.ndarray | None = None
    coef: np.ndarray | None = None
    intercept: float = 0.0
    calibration: tuple[float, float, float] = (1.0, 0.0, 0.0)

    # -- features ----------------------------------------------------------------------------

    def _counts(self, prepared: list[str]) -> sp.csr_matrix:
        """Sublinear term counts of ``prepare``d texts (rows = texts, columns = 2**bits hashed n-grams)."""
        f = self.features
        matrix = hashed_ngrams(prepared, f.char_ngrams, f.bits)
        matrix.data = 1 + np.log(matrix.data)
        return matrix

    def _design(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """TF-IDF rows, L2-normalised."""
        weighted = counts @ sp.diags(self.idf)
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        return sp.diags(1 / np.where(norms > 0, norms, 1)) @ weighted

    def _fit_idf(self, counts: sp.csr_matrix) -> None:
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
        idf[df < self.features.min_df] = 0.0
        self.idf = idf

    # -- fitting and scoring -----------------------------------------------------------------

    def fit(self, texts: list[str], labels: np.ndarray, sample_weight: np.ndarray | None = None,
            calibration_share: float = 0.1, seed: int = 0) -> SentimentClassifier:
        """Fit on ``texts`` with ``labels`` (1 = positive); ``calibration_share`` of the rows are held
        out to fit the Platt scaling, then the classifier is refitted on every row."""
        labels = np.asarray(labels, dtype=int)
        weight = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        prepared = [prepare(t) for t in texts]
        counts = self._counts(prepared)
        rows = np.arange(len(labels))
        fit_rows, calibration_rows = train_test_split(rows, test_size=calibration_share, random_state=seed,
                                                      stratify=labels)
        self._fit_rows(counts[fit_rows], labels[fit_rows], weight[fit_rows])
        self.calibration = _combine(self._decision(self._design(counts[calibration_rows])),
                                    word_balance([prepared[i] for i in calibration_rows]),
                                    labels[calibration_rows])
        self._fit_rows(counts, labels, weight)
        return self

    def _fit_rows(self, counts: sp.csr_matrix, labels: np.ndarray, weight: np.ndarray) -> None:
        self._fit_idf(counts)
        design = self._design(counts).tocsr()
        used = np.nonzero(design.getnnz(axis=0))[0]  # millions of hashed columns, a few 100k in use
        # The dual solver: fewer texts than features, so it converges ~5x faster than the primal.
        regression = LogisticRegression(C=self.C, solver="liblinear", dual=True, max_iter=1000)
        regression.fit(design[:, used], labels, sample_weight=weight)
        self.coef = np.zeros(design.shape[1], dtype=np.float32)
        self.coef[used] = regression.coef_.ravel()
        self.intercept = float(regression.intercept_[0])

    def _decision(self, design: sp.csr_matrix) -> np.ndarray:
        return design @ self.coef + self.intercept

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Calibrated P(positive) per text."""
        if self.coef is None:
            raise RuntimeError("the classifier is not fitted")
        if not texts:
            return np.zeros(0)
        a, w, b = self.calibration
        prepared = [prepare(t) for t in texts]
        decision = self._decision(self._design(self._counts(prepared)))
        return 1 / (1 + np.exp(-(a * decision + w * word_balance(prepared) + b)))

    # -- storage -----------------------------------------------------------------------------

    def to_artifact(self) -> tuple[dict[str, np.ndarray], dict]:
        params = {"format": MODEL_FORMAT, "features": asdict(self.features), "C": self.C,
                  "intercept": self.intercept, "calibration": list(self.calibration)}
        return {"coef": self.coef, "idf": self.idf}, params

    @classmethod
    def from_artifact(cls, arrays: dict[str, np.ndarray], params: dict) -> SentimentClassifier:
        if params.get("format") != MODEL_FORMAT:
            raise ValueError(f"sentiment model of format {params.get('format')}, this code reads {MODEL_FORMAT}: "
                             "retrain it")
        f = params["features"]
        features = FeatureConfig(char_ngrams=tuple(f["char_ngrams"]), bits=f["bits"], min_df=f["min_df"])
        return cls(features=features, C=params["C"], coef=np.asarray(arrays["coef"], dtype=np.float32),
                   idf=np.asarray(arrays["idf"], dtype=np.float32), intercept=float(params["intercept"]),
                   calibration=tuple(params["calibration"]))


def _combine(decision: np.ndarray, balance: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(a, w, b) of P(positive) = sigmoid(a·decision + w·balance + b), fitted on held-out rows."""
    if len(np.unique(labels)) < 2:
        return 1.0, 0.0, 0.0
    combiner = LogisticRegression(C=1e4, solver="lbfgs").fit(np.column_stack([decision, balance]), labels)
    return float(combiner.coef_[0, 0]), float(combiner.coef_[0, 1]), float(combiner.intercept_[0])


def accuracy_and_macro_f1(labels: np.ndarray, p_positive: np.ndarray) -> dict:
    """Accuracy and macro-F1 of the 0.5 decision (every text labelled, no neutral)."""
    labels = np.asarray(labels, dtype=int)
    predicted = (np.asarray(p_positive) >= 0.5).astype(int)
    f1 = []
    for cls in (0, 1):
        tp = np.sum((predicted == cls) & (labels == cls))
        fp = np.sum((predicted == cls) & (labels != cls))
        fn = np.sum((predicted != cls) & (labels == cls))
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return {"accuracy": float(np.mean(predicted == labels)), "macro_f1": float(np.mean(f1)), "n": int(len(labels))}
