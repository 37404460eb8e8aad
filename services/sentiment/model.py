"""The review sentiment classifier: hashed TF-IDF n-grams and a logistic regression, calibrated.

Features, each its own TF-IDF block (so one block's length does not drown another's):
- ``chars``: character 1–3-grams of the normalised text. Chinese needs no word boundaries for
  these, and slang and typos still share most of their n-grams with the proper spelling.
- ``words``: jieba words and word bigrams, for the meaning that spans more than three characters.
- ``after_contrast``: character 1–2-grams of what follows the last contrast word (但是, 不过, 就是,
  ...), because the clause after "but" usually carries the verdict.
- ``negated``: the one and two characters after each negator (不, 没, 没有, 不是, ...) in a block
  of their own, so "不好" and "好" are different evidence even where an n-gram spans the boundary.

Hashing (no stored vocabulary) keeps the artifact a few arrays and the transform stateless. The
logistic regression's P(positive) is then calibrated (Platt scaling on held-out rows) so that a
neutral threshold on it means what it says. Pure: no Flask, no SQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

_CONTRAST = re.compile(r"但是|但|可是|不过|就是|然而|只是|可惜|却")
_NEGATOR = re.compile(r"没有|不是|不太|不够|不会|不能|不要|不|没|别|无|未|非")
_CLAUSE_END = re.compile(r"[，,。.!！?？;；~～\s]")
_REPEAT = re.compile(r"(.)\1{2,}")
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_jieba = None


def prepare(text: str) -> str:
    """Full-width → half-width, lower case, runs of one character cut to two (好好好好 → 好好)."""
    return _REPEAT.sub(r"\1\1", unicodedata.normalize("NFKC", text).lower())


def after_contrast(text: str) -> str:
    parts = _CONTRAST.split(text)
    return parts[-1] if len(parts) > 1 else ""


def negated_snippets(text: str) -> list[str]:
    """The (up to) two characters after each negator, within its clause: 不好用 → "好用"."""
    snippets = []
    for match in _NEGATOR.finditer(text):
        following = _CLAUSE_END.split(text[match.end():match.end() + 2], maxsplit=1)[0]
        if following:
            snippets.append(following)
    return snippets


def hashed_ngrams(pieces: list[str], rows: np.ndarray, n_rows: int, ngram_range: tuple[int, int],
                  bits: int) -> sp.csr_matrix:
    """Counts of the character n-grams of ``pieces`` (piece i adds to row ``rows[i]``), hashed into
    2**bits columns. Vectorised over all characters at once: ~4x sklearn's char analyzer, which
    builds a Python string per n-gram; no n-gram crosses from one piece into the next."""
    shape = (n_rows, 2 ** bits)
    lengths = np.fromiter(map(len, pieces), count=len(pieces), dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return sp.csr_matrix(shape, dtype=np.float32)
    codes = np.frombuffer("".join(pieces).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    piece_of = np.repeat(np.arange(len(pieces)), lengths)
    to_end = np.arange(total) - np.repeat(np.cumsum(lengths), lengths)  # position minus its piece's end
    out_rows, out_cols = [], []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        starts = np.nonzero(to_end + n <= 0)[0]  # n-grams that end inside their piece
        h = np.full(len(starts), (n * 0x9E3779B97F4A7C15) % 2**64, dtype=np.uint64)
        for k in range(n):  # FNV-style mixing of the code points, then a final avalanche
            h = (h ^ codes[starts + k]) * _FNV_PRIME
        h ^= h >> np.uint64(29)
        h *= _MIX
        h ^= h >> np.uint64(32)
        out_rows.append(np.asarray(rows)[piece_of[starts]])
        out_cols.append((h >> np.uint64(64 - bits)).astype(np.int64))
    r, c = np.concatenate(out_rows), np.concatenate(out_cols)
    matrix = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def words(text: str) -> str:
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(60)  # its "Building prefix dict" chatter is not ours to log
        _jieba = jieba
    return " ".join(_jieba.lcut(text, HMM=False))


@dataclass(frozen=True)
class FeatureConfig:
    """Which blocks, and their shapes. Hash space per block: 2**bits columns."""

    blocks: tuple[str, ...] = ("chars", "after_contrast", "negated")
    char_ngrams: tuple[int, int] = (1, 3)
    word_ngrams: tuple[int, int] = (1, 2)
    bits: int = 20
    min_df: int = 2  # a hashed n-gram seen in fewer training texts gets no weight


@dataclass
class SentimentClassifier:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    C: float = 4.0
    # Fitted state: per-block idf (0 = unused column), coefficients, intercept, Platt scaling.
    idf: dict[str, np.ndarray] = field(default_factory=dict)
    coef: np.ndarray | None = None
    intercept: float = 0.0
    calibration: tuple[float, float] = (1.0, 0.0)

    # -- features ----------------------------------------------------------------------------

    def _counts(self, texts: list[str]) -> dict[str, sp.csr_matrix]:
        """Sublinear term counts per block (rows = texts, columns = 2**bits hashed n-grams)."""
        f = self.features
        prepared = [prepare(t) for t in texts]
        rows = np.arange(len(texts))
        counts = {}
        for block in f.blocks:
            if block == "chars":
                matrix = hashed_ngrams(prepared, rows, len(texts), f.char_ngrams, f.bits)
            elif block == "after_contrast":
                matrix = hashed_ngrams([after_contrast(t) for t in prepared], rows, len(texts), (1, 2), f.bits)
            elif block == "negated":
                snippets = [negated_snippets(t) for t in prepared]
                owner = np.repeat(rows, [len(x) for x in snippets])
                matrix = hashed_ngrams([x for xs in snippets for x in xs], owner, len(texts), (1, 2), f.bits)
            elif block == "words":
                matrix = HashingVectorizer(token_pattern=r"\S+", ngram_range=f.word_ngrams, n_features=2 ** f.bits,
                                           alternate_sign=False, norm=None, lowercase=False, dtype=np.float32
                                           ).transform([words(t) for t in prepared])
            else:
                raise ValueError(f"unknown feature block {block!r}")
            matrix.data = 1 + np.log(matrix.data)  # sublinear tf
            counts[block] = matrix
        return counts

    def _design(self, counts: dict[str, sp.csr_matrix]) -> sp.csr_matrix:
        blocks = []
        for block in self.features.blocks:
            weighted = counts[block] @ sp.diags(self.idf[block])
            norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
            blocks.append(sp.diags(1 / np.where(norms > 0, norms, 1)) @ weighted)
        return sp.hstack(blocks, format="csr")

    def _fit_idf(self, counts: dict[str, sp.csr_matrix]) -> None:
        self.idf = {}
        for block, matrix in counts.items():
            present = (matrix > 0).astype(np.float32)
            n = matrix.shape[0]
            df = np.asarray(present.sum(axis=0)).ravel()
            idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
            idf[df < self.features.min_df] = 0.0
            self.idf[block] = idf

    # -- fitting and scoring -----------------------------------------------------------------

    def fit(self, texts: list[str], labels: np.ndarray, sample_weight: np.ndarray | None = None,
            calibration_share: float = 0.1, seed: int = 0) -> SentimentClassifier:
        """Fit on ``texts`` with ``labels`` (1 = positive); ``calibration_share`` of the rows are held
        out to fit the Platt scaling, then the classifier is refitted on every row."""
        labels = np.asarray(labels, dtype=int)
        weight = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        counts = self._counts(list(texts))
        rows = np.arange(len(labels))
        fit_rows, calibration_rows = train_test_split(rows, test_size=calibration_share, random_state=seed,
                                                      stratify=labels)
        self._fit_rows(counts, labels, weight, fit_rows)
        raw = self._decision(self._design(_take(counts, calibration_rows)))
        self.calibration = _platt(raw, labels[calibration_rows])
        self._fit_rows(counts, labels, weight, rows)
        return self

    def _fit_rows(self, counts, labels, weight, rows) -> None:
        part = _take(counts, rows)
        self._fit_idf(part)
        design = self._design(part)
        used = np.nonzero(design.getnnz(axis=0))[0]  # millions of hashed columns, a few 100k in use
        # The dual solver: fewer texts than features, so it converges ~5x faster than the primal.
        regression = LogisticRegression(C=self.C, solver="liblinear", dual=True, max_iter=1000)
        regression.fit(design[:, used], labels[rows], sample_weight=weight[rows])
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
        a, b = self.calibration
        return 1 / (1 + np.exp(-(a * self._decision(self._design(self._counts(list(texts)))) + b)))

    # -- storage -----------------------------------------------------------------------------

    def to_artifact(self) -> tuple[dict[str, np.ndarray], dict]:
        arrays = {"coef": self.coef, **{f"idf_{block}": idf for block, idf in self.idf.items()}}
        params = {"features": asdict(self.features), "C": self.C, "intercept": self.intercept,
                  "calibration": list(self.calibration)}
        return arrays, params

    @classmethod
    def from_artifact(cls, arrays: dict[str, np.ndarray], params: dict) -> SentimentClassifier:
        f = params["features"]
        features = FeatureConfig(blocks=tuple(f["blocks"]), char_ngrams=tuple(f["char_ngrams"]),
                                 word_ngrams=tuple(f["word_ngrams"]), bits=f["bits"], min_df=f["min_df"])
        return cls(features=features, C=params["C"], coef=np.asarray(arrays["coef"], dtype=np.float32),
                   idf={b: np.asarray(arrays[f"idf_{b}"], dtype=np.float32) for b in features.blocks},
                   intercept=float(params["intercept"]), calibration=tuple(params["calibration"]))


def _take(counts: dict[str, sp.csr_matrix], rows: np.ndarray) -> dict[str, sp.csr_matrix]:
    return {block: matrix[rows] for block, matrix in counts.items()}


def _platt(decision: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Platt scaling: P(positive) = sigmoid(a·decision + b), fitted on held-out rows."""
    if len(np.unique(labels)) < 2:
        return 1.0, 0.0
    scaler = LogisticRegression(C=1e4, solver="lbfgs").fit(decision.reshape(-1, 1), labels)
    return float(scaler.coef_[0, 0]), float(scaler.intercept_[0])


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
