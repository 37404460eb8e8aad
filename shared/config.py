"""The one configuration loader: environment variables with the embedded defaults
(docs/operations.md, "Environment variables").

Every process (gateway, services, workers, CLI) calls :func:`load_settings`; tests pass
an ``overrides`` mapping instead of touching ``os.environ``.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.waits import default_total

SERVICES = ("gateway", "ingestion", "recommendation", "forecasting", "sentiment", "pricing", "insights",
            "decisions")
DOMAIN_SERVICES = SERVICES[1:]
# The services with a model per shop (POST /v1/admin/retrain, the nightly retrain, /v1/models):
# the one list; each trains with the job ``train_task(service)``.
TRAINABLE_SERVICES = ("recommendation", "forecasting", "sentiment", "pricing", "insights")


def train_task(service: str) -> str | None:
    """The job kind that trains ``service``'s model, or None when it has none."""
    return f"{service}.train" if service in TRAINABLE_SERVICES else None


@dataclass(frozen=True)
class Settings:
    """Everything a shopmind process needs to know about its surroundings."""

    data_dir: Path
    database_url: str
    redis_url: str | None
    artifact_dir: Path
    upload_dir: Path
    admin_token: str
    internal_token: str
    # Requests per minute per API key; 0 turns rate limiting off.
    rate_limit_per_minute: int = 1200
    # Uploads (imports) may be large and are streamed to disk; JSON bodies are read into memory.
    max_body_bytes: int = 4 * 1024**3
    max_json_bytes: int = 10 * 1024**2
    # An import may be (plain) or expand to (gzip, xlsx) at most this many bytes; a compressed one
    # also at most max_import_ratio times its size (past 64 MiB). Lines longer than
    # max_import_line_chars fail the import at once.
    max_import_bytes: int = 2 * 1024**3
    max_import_ratio: int = 200
    max_import_line_chars: int = 1024 * 1024
    # Distributed mode: base URL of each service (SHOPMIND_<NAME>_URL); empty = in-process.
    service_urls: Mapping[str, str] = field(default_factory=dict)
    service_timeout_s: float = 10.0
    aggregate_budget_s: float = 3.0
    # Webhook targets: https only unless allow_http; private addresses only if listed here.
    webhook_allow_http: bool = False
    webhook_allow_hosts: tuple[str, ...] = ()
    webhook_timeout_s: float = 5.0
    # How often serving code checks whether a newer model version was promoted.
    model_check_interval_s: float = 2.0
    log_level: str = "INFO"
    # Nightly retrain of every model, "HH:MM" in UTC (default 03:00 in Shanghai); "off" disables it.
    nightly_retrain_utc: str = "19:00"
    # Jobs (docs/operations.md, "Jobs"): a running job stamps its heartbeat this often; one whose
    # heartbeat is older than job_stale_s lost its worker. The sweeper runs every sweep_interval_s,
    # puts lost jobs back in the queue at most job_max_requeues times, and re-publishes a queued
    # job the broker no longer holds once it has waited job_queued_grace_s.
    job_heartbeat_s: float = 10.0
    job_stale_s: float = 120.0
    job_queued_grace_s: float = 120.0
    job_max_requeues: int = 3
    sweep_interval_s: float = 30.0
    # Redis gives an unacknowledged message to another worker after this long (above the longest job).
    broker_visibility_timeout_s: int = 6 * 3600
    # Requests of one process that may sit in a ?wait= at once (overall, per shop); the rest answer at once.
    max_waiters: int = 4
    max_waiters_per_shop: int = 2
    # Reverse proxies in front of the gateway whose X-Forwarded-For/-Proto/-Host are believed (0: none).
    trusted_proxies: int = 0
    # Console sessions end after this long without a request, and this long after sign-in at most.
    session_idle_s: int = 8 * 3600
    session_max_s: int = 7 * 86400
    # The sweeper deletes sessions that ended (idle or too old) more than this many days ago.
    session_purge_after_days: int = 7
    # Failed sign-ins allowed per minute for one email, and from one address; then 429.
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20

    @property
    def embedded(self) -> bool:
        """No Redis: jobs run on an in-process worker instead of Celery over a broker."""
        return not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def normalise_database_url(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg2 (SQLAlchemy 2.1 defaults ``postgresql://`` to psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url.removeprefix(prefix)
    return url


def _local_secret(data_dir: Path, name: str) -> str:
    """A random secret persisted under the data dir, so restarts keep it (embedded mode only).

    A lock file makes processes that start together (gunicorn workers) agree on one value.
    """
    path = data_dir / "secrets.json"
    if path.exists() and name in (stored := json.loads(path.read_text() or "{}")):
        return stored[name]
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(data_dir / "secrets.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = json.loads(path.read_text() or "{}") if path.exists() else {}
        if name not in stored:
            stored[name] = secrets.token_urlsafe(32)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(stored))
            tmp.chmod(0o600)
            tmp.replace(path)
        return stored[name]


# Files shopmind writes hold shop data, webhook secrets and pseudonymisation salts: its own user only.
PRIVATE_UMASK = 0o077


def keep_files_private(settings: Settings, tighten_existing: bool = False) -> None:
    """Create every later file 0600 and directory 0700; with ``tighten_existing``, also close up
    what an earlier version left readable (the data, artifact and upload directories)."""
    os.umask(PRIVATE_UMASK)
    if not tighten_existing:
        return
    for top in {settings.data_dir, settings.artifact_dir, settings.upload_dir}:
        if not top.exists():
            continue
        for path in [top, *top.rglob("*")]:
            try:
                if path.is_symlink() or path.stat().st_uid != os.geteuid():
                    continue
                mode = path.stat().st_mode & 0o777
                private = mode & 0o700
                if mode != private:
                    path.chmod(private)
            except OSError:  # vanished or not ours to change: leave it, never fail a start for it
                continue


def load_settings(overrides: Mapping[str, object] | None = None) -> Settings:
    """Read settings from the environment, with ``overrides`` (same names as the env vars) on top."""
    env: dict[str, object] = dict(os.environ)
    env.update(overrides or {})

    def get(name: str, default: str | None = None) -> str | None:
        value = env.get(name)
        return default if value is None or value == "" else str(value)

    data_dir = Path(get("SHOPMIND_DATA_DIR", "var")).resolve()
    database_url = normalise_database_url(get("DATABASE_URL") or f"sqlite:///{data_dir / 'shopmind.db'}")
    service_urls = {
        name: get(f"SHOPMIND_{name.upper()}_URL")
        for name in DOMAIN_SERVICES
        if get(f"SHOPMIND_{name.upper()}_URL")
    }
    # `shopmind serve` sets GUNICORN_THREADS to the threads each worker really runs (1 for services).
    request_threads = int(get("GUNICORN_THREADS", "8"))
    allow_hosts = tuple(h.strip() for h in (get("SHOPMIND_WEBHOOK_ALLOW_HOSTS", "") or "").split(",") if h.strip())
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=get("REDIS_URL"),
        artifact_dir=Path(get("ARTIFACT_DIR") or data_dir / "artifacts").resolve(),
        admin_token=get("SHOPMIND_ADMIN_TOKEN") or _local_secret(data_dir, "admin_token"),
        internal_token=get("SHOPMIND_INTERNAL_TOKEN") or _local_secret(data_dir, "internal_token"),
        rate_limit_per_minute=int(get("SHOPMIND_RATE_LIMIT_PER_MINUTE", "1200")),
        max_body_bytes=int(get("SHOPMIND_MAX_BODY_BYTES", str(4 * 1024**3))),
        max_json_bytes=int(get("SHOPMIND_MAX_JSON_BYTES", str(10 * 1024**2))),
        max_import_bytes=int(get("SHOPMIND_MAX_IMPORT_BYTES", str(2 * 1024**3))),
        max_import_ratio=int(get("SHOPMIND_MAX_IMPORT_RATIO", "200")),
        max_import_line_chars=int(get("SHOPMIND_MAX_IMPORT_LINE_CHARS", str(1024 * 1024))),
        upload_dir=Path(get("SHOPMIND_UPLOAD_DIR") or data_dir / "uploads").resolve(),
        service_urls=service_urls,
        service_timeout_s=float(get("SHOPMIND_SERVICE_TIMEOUT_S", "10")),
        aggregate_budget_s=float(get("SHOPMIND_AGGREGATE_BUDGET_S", "3")),
        webhook_allow_http=_bool(get("SHOPMIND_WEBHOOK_ALLOW_HTTP")),
        webhook_allow_hosts=allow_hosts,
        webhook_timeout_s=float(get("SHOPMIND_WEBHOOK_TIMEOUT_S", "5")),
        model_check_interval_s=float(get("SHOPMIND_MODEL_CHECK_INTERVAL_S", "2")),
        log_level=get("SHOPMIND_LOG_LEVEL", "INFO") or "INFO",
        nightly_retrain_utc=get("SHOPMIND_NIGHTLY_RETRAIN_UTC", "19:00") or "19:00",
        **_job_timing(get),
        max_waiters=int(get("SHOPMIND_MAX_WAITERS", str(default_total(request_threads)))),
        max_waiters_per_shop=int(get("SHOPMIND_MAX_WAITERS_PER_SHOP", "2")),
        trusted_proxies=int(get("SHOPMIND_TRUSTED_PROXIES", "0")),
        session_idle_s=int(get("SHOPMIND_SESSION_IDLE_S", str(8 * 3600))),
        session_max_s=int(get("SHOPMIND_SESSION_MAX_S", str(7 * 86400))),
        session_purge_after_days=_non_negative(get, "SHOPMIND_SESSION_PURGE_AFTER_DAYS", 7),
        login_failures_per_account=int(get("SHOPMIND_LOGIN_FAILURES_PER_ACCOUNT", "5")),
        login_failures_per_address=int(get("SHOPMIND_LOGIN_FAILURES_PER_ADDRESS", "20")),
    )


def _non_negative(get, name: str, default: int) -> int:
    value = int(get(name, str(default)))
    if value < 0:
        raise ValueError(f"{name} must be 0 or more (days), not {value}")
    return value


def _job_timing(get) -> dict:
    """The job heartbeat and sweeper numbers, checked together: a stale limit at or under a few
    heartbeats would take live jobs for dead ones."""
    timing = {
        "job_heartbeat_s": float(get("SHOPMIND_JOB_HEARTBEAT_S", "10")),
        "job_stale_s": float(get("SHOPMIND_JOB_STALE_S", "120")),
        "job_queued_grace_s": float(get("SHOPMIND_JOB_QUEUED_GRACE_S", "120")),
        "job_max_requeues": int(get("SHOPMIND_JOB_MAX_REQUEUES", "3")),
        "sweep_interval_s": float(get("SHOPMIND_SWEEP_INTERVAL_S", "30")),
        "broker_visibility_timeout_s": int(get("SHOPMIND_BROKER_VISIBILITY_TIMEOUT_S", str(6 * 3600))),
    }
    if min(timing["job_heartbeat_s"], timing["job_queued_grace_s"], timing["sweep_interval_s"],
           timing["broker_visibility_timeout_s"]) <= 0 or timing["job_max_requeues"] < 0:
        raise ValueError("SHOPMIND_JOB_HEARTBEAT_S, SHOPMIND_JOB_QUEUED_GRACE_S, SHOPMIND_SWEEP_INTERVAL_S and "
                         "SHOPMIND_BROKER_VISIBILITY_TIMEOUT_S must be above 0, SHOPMIND_JOB_MAX_REQUEUES 0 or more")
    if timing["job_stale_s"] < 3 * timing["job_heartbeat_s"]:
        raise ValueError(f"SHOPMIND_JOB_STALE_S ({timing['job_stale_s']:g}) must be at least three heartbeats "
                         f"(3 x SHOPMIND_JOB_HEARTBEAT_S = {3 * timing['job_heartbeat_s']:g})")
    return timing
