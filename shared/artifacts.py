"""Model registry and artifact store.

A training run saves arrays (one ``.npy`` file each, loaded with ``allow_pickle=False``) and raw
files (e.g. an xgboost JSON model) under ``ARTIFACT_DIR/shop-<id>/<service>/v<n>/``, with a
manifest of sha256 checksums, and a ``model_versions`` row. Loading verifies every checksum, so a
truncated or tampered artifact is refused and never executes code. Arrays are memory-mapped
read-only: the gunicorn workers of one machine share one copy in the page cache instead of each
holding its own (versions saved before, as one ``arrays.npz``, are still read, into memory).

Serving code holds an :class:`ActiveModelCache`: ``cache.get(shop_id)`` returns the loaded active
model, re-checking which version is active at most every ``model_check_interval_s`` (one indexed
query). A newly promoted version is loaded completely first and then swapped in by a single
assignment, so a request sees the old model or the new one, never a half-loaded one.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import i18n, signals, webhooks
from shared.config import Settings
from shared.db import ALL_SHOPS, session_scope, utcnow
from shared.errors import Conflict, NotFound, ShopmindError
from shared.i18n import t
from shared.models import ModelVersion

T = TypeVar("T")
log = logging.getLogger(__name__)
ARRAYS_DIR = "arrays"  # one <name>.npy per array
LEGACY_ARRAYS_FILE = "arrays.npz"  # versions saved before arrays were memory-mapped
MANIFEST_FILE = "manifest.json"


class ArtifactCorrupt(ShopmindError):
    status, slug = 500, "artifact-corrupt"


@dataclass(frozen=True)
class Artifact:
    """A loaded model version: its registry row's facts plus its arrays and files."""

    version_id: int
    service: str
    version: int
    params: dict
    metrics: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_version(
    session: Session,
    settings: Settings,
    shop_id: int,
    service: str,
    *,
    arrays: dict[str, np.ndarray] | None = None,
    files: dict[str, bytes] | None = None,
    params: dict | None = None,
    metrics: dict | None = None,
    data_window: dict | None = None,
    job_id: str | None = None,
) -> ModelVersion:
    """Write an artifact and its ``model_versions`` row (status ``ready``; the caller commits)."""
    version = (session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.service == service)
    ) or 0) + 1
    # Claim the version's folder atomically; a concurrent run that got the same number moves on.
    (settings.artifact_dir / f"shop-{shop_id}" / service).mkdir(parents=True, exist_ok=True)
    while True:
        relative = Path(f"shop-{shop_id}") / service / f"v{version}"
        try:
            (settings.artifact_dir / relative).mkdir()
            break
        except FileExistsError:
            version += 1
    final_dir = settings.artifact_dir / relative
    blobs: dict[str, bytes] = dict(files or {})
    for name, array in (arrays or {}).items():
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        blobs[f"{ARRAYS_DIR}/{name}.npy"] = buffer.getvalue()
    blobs["params.json"] = json.dumps(params or {}, sort_keys=True, ensure_ascii=False).encode()
    if arrays:
        (final_dir / ARRAYS_DIR).mkdir()
    manifest = {}
    for name, data in blobs.items():
        (final_dir / name).write_bytes(data)
        manifest[name] = _sha256(data)
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    # Written last; nobody loads a version before its row (added below) is committed.
    (final_dir / MANIFEST_FILE).write_bytes(manifest_bytes)
    row = ModelVersion(  # texts in metrics stay message keys, read in each reader's language
        shop_id=shop_id, service=service, version=version, status="ready", params=params or {},
        metrics=i18n.to_json(metrics or {}), data_window=data_window or {}, artifact_path=str(relative),
        checksum=_sha256(manifest_bytes), job_id=job_id, trained_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def load_artifact(row: ModelVersion, settings: Settings) -> Artifact:
    """Read a version's files back, refusing any whose checksum does not match."""
    directory = settings.artifact_dir / (row.artifact_path or "")
    try:
        manifest_bytes = (directory / MANIFEST_FILE).read_bytes()
    except FileNotFoundError:
        raise ArtifactCorrupt(t("models.artifact_missing", service=row.service, version=row.version)) from None
    if _sha256(manifest_bytes) != row.checksum:
        raise ArtifactCorrupt(t("models.artifact_corrupt", service=row.service, version=row.version))
    files: dict[str, bytes] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, digest in json.loads(manifest_bytes).items():
        try:
            data = (directory / name).read_bytes()
        except FileNotFoundError:
            raise ArtifactCorrupt(t("models.artifact_missing", service=row.service, version=row.version)) from None
        if _sha256(data) != digest:
            raise ArtifactCorrupt(t("models.artifact_corrupt", service=row.service, version=row.version))
        if name.startswith(f"{ARRAYS_DIR}/"):
            del data  # checked; the array itself is mapped from the file, shared with other workers
            arrays[name.removeprefix(f"{ARRAYS_DIR}/").removesuffix(".npy")] = _mapped(directory / name)
        else:
            files[name] = data
    if LEGACY_ARRAYS_FILE in files:
        with np.load(io.BytesIO(files.pop(LEGACY_ARRAYS_FILE)), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    params = json.loads(files.pop("params.json"))
    return Artifact(row.id, row.service, row.version, params, dict(row.metrics or {}), arrays, files)


def _mapped(path: Path) -> np.ndarray:
    """The array in a checked ``.npy`` file, memory-mapped read-only, as a plain ndarray view
    (a ``np.memmap`` would hand its subclass to every result computed from it)."""
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


# --- registry operations (the caller commits) ---------------------------------------------

def active_version(session: Session, service: str) -> ModelVersion | None:
    return session.scalars(
        select(ModelVersion).where(ModelVersion.service == service, ModelVersion.status == "active")
        .order_by(ModelVersion.promoted_at.desc())
    ).first()


def promote(session: Session, row: ModelVersion) -> ModelVersion:
    """Make ``row`` the active version of its service; the previous one is retired."""
    if row.status not in ("ready", "retired", "active"):
        raise Conflict(t("models.cannot_promote", version=row.version, service=row.service, status=row.status))
    if row.status == "active":
        return row
    current = active_version(session, row.service)
    if current is not None:
        current.status = "retired"
        session.flush()
    service = row.service
    row.status, row.promoted_at = "active", utcnow()
    _flush_or_conflict(session, service)
    signals.publish_after_commit(session, signals.MODEL_CHANGED, {"shop_id": row.shop_id, "service": service})
    webhooks.emit(session, row.shop_id, "model_promoted",
                  {"service": row.service, "version": row.version, "model_id": row.id,
                   "previous_version": current.version if current else None})
    return row


def rollback(session: Session, service: str) -> ModelVersion:
    """Re-activate the version that was active before the current one."""
    current = active_version(session, service)
    if current is None:
        raise NotFound(t("models.nothing_active", service=service))
    previous = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.service == service, ModelVersion.status == "retired",
               ModelVersion.promoted_at.is_not(None), ModelVersion.id != current.id,
               ModelVersion.promoted_at <= current.promoted_at)
        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
    ).first()
    if previous is None:
        raise Conflict(t("models.first_version", service=service, version=current.version))
    current.status = "retired"
    # The rolled-back version must not be picked as "previous" again by the next rollback.
    current.promoted_at = None
    session.flush()
    previous.status, previous.promoted_at = "active", utcnow()
    _flush_or_conflict(session, service)
    signals.publish_after_commit(session, signals.MODEL_CHANGED, {"shop_id": previous.shop_id, "service": service})
    webhooks.emit(session, previous.shop_id, "model_promoted",
                  {"service": service, "version": previous.version, "model_id": previous.id,
                   "previous_version": current.version, "rollback": True})
    return previous


def _flush_or_conflict(session: Session, service: str) -> None:
    try:
        session.flush()
    except IntegrityError:  # uq_model_versions_one_active: a concurrent promotion or rollback won
        session.rollback()
        raise Conflict(t("models.promotion_race", service=service)) from None


def promote_if_better(session: Session, row: ModelVersion, metric: str, higher_is_better: bool) -> bool:
    """Promote ``row`` when its offline ``metric`` is no worse than the active version's."""
    current = active_version(session, row.service)
    if current is not None and metric in (current.metrics or {}):
        new, old = (row.metrics or {}).get(metric), current.metrics[metric]
        if new is None or ((new < old) if higher_is_better else (new > old)):
            return False  # no evaluation, or a worse one, never replaces a measured model
    promote(session, row)
    return True


# --- serving: the active model per shop, swapped atomically --------------------------------

@dataclass(frozen=True)
class LoadedModel(Generic[T]):
    version_id: int
    version: int
    model: T
    metrics: dict


@dataclass
class _Entry(Generic[T]):
    loaded: LoadedModel[T] | None
    checked_at: float


CACHES: list[ActiveModelCache] = []  # every cache of this process, for preload_all


def preload_all(settings: Settings) -> dict[str, list[int]]:
    """Load the active models of every service this process serves (a gunicorn worker, before it
    takes its first request: no request waits for a model to load)."""
    started = time.monotonic()
    loaded = {cache.service: cache.preload(settings) for cache in CACHES}
    log.info("preloaded models in %.1f s: %s", time.monotonic() - started, loaded)
    return loaded


class ActiveModelCache(Generic[T]):
    """Per-process cache of each shop's active model for one service.

    Parameters
    ----------
    service : str
        Registry name, e.g. ``"recommendation"``.
    build : callable
        Turns an :class:`Artifact` into the object serving code uses (e.g. ``Model.from_artifact``).
    """

    def __init__(self, service: str, build: Callable[[Artifact], T]):
        self.service = service
        self.build = build
        self._entries: dict[int, _Entry[T]] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._subscribed = False
        CACHES.append(self)

    def preload(self, settings: Settings) -> list[int]:
        """Load every shop's active model now; returns the shops loaded. A model that fails to
        load is logged and left for the first request to retry."""
        with session_scope(ALL_SHOPS, settings.database_url) as session:
            shops = session.scalars(select(ModelVersion.shop_id).where(
                ModelVersion.service == self.service, ModelVersion.status == "active").distinct()).all()
        loaded = []
        for shop_id in shops:
            try:
                if self.get(shop_id, settings) is not None:
                    loaded.append(shop_id)
            except Exception:
                log.exception("cannot preload %s for shop %s", self.service, shop_id)
        return loaded

    def get(self, shop_id: int, settings: Settings) -> LoadedModel[T] | None:
        if not self._subscribed:
            # Promotions and rollbacks announce themselves, so a job's "promoted" holds at once;
            # the periodic check below covers a missed message.
            signals.subscribe(signals.MODEL_CHANGED, self._forget)
            self._subscribed = True
        entry = self._entries.get(shop_id)
        if entry is not None and time.monotonic() - entry.checked_at < settings.model_check_interval_s:
            return entry.loaded
        lock = self._lock_for(shop_id)
        if not lock.acquire(blocking=entry is None or entry.loaded is None):
            return entry.loaded  # another thread is loading the new version; serve the current one
        try:
            return self._refresh(shop_id, settings)
        finally:
            lock.release()

    def _forget(self, message: dict) -> None:
        """Another process (or thread) changed a shop's active version: check it on the next get."""
        if message.get("service") == self.service and (entry := self._entries.get(message.get("shop_id"))):
            self._entries[message["shop_id"]] = _Entry(entry.loaded, float("-inf"))

    def _refresh(self, shop_id: int, settings: Settings) -> LoadedModel[T] | None:
        entry = self._entries.get(shop_id)
        if entry is not None and time.monotonic() - entry.checked_at < settings.model_check_interval_s:
            return entry.loaded
        with session_scope(shop_id, settings.database_url) as session:
            row = active_version(session, self.service)
        if row is None:
            loaded = None
        elif entry is not None and entry.loaded is not None and entry.loaded.version_id == row.id:
            loaded = entry.loaded
        else:
            try:
                artifact = load_artifact(row, settings)
                loaded = LoadedModel(row.id, row.version, self.build(artifact), dict(row.metrics or {}))
            except Exception:
                if entry is None or entry.loaded is None:
                    raise
                # Keep serving the model we have rather than failing requests; retry later.
                log.exception("cannot load %s v%s for shop %s; still serving v%s", self.service,
                              row.version, shop_id, entry.loaded.version)
                loaded = entry.loaded
        # The atomic swap. "No model yet" is not cached: the first model is served as soon as it exists.
        self._entries[shop_id] = _Entry(loaded, time.monotonic() if loaded is not None else float("-inf"))
        return loaded

    def _lock_for(self, shop_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(shop_id, threading.Lock())


def describe(row: ModelVersion) -> dict[str, Any]:
    """A model version as the API returns it."""
    return {
        "id": row.id, "service": row.service, "version": row.version, "status": row.status,
        "params": row.params or {}, "metrics": i18n.render(row.metrics or {}),
        "trained_at": row.trained_at.isoformat() if row.trained_at else None,
        "promoted_at": row.promoted_at.isoformat() if row.promoted_at else None,
        "data_window": row.data_window or {}, "job_id": row.job_id,
    }
