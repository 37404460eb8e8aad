"""What the benchmarks share to run a real server: their environment and first shop, free ports,
Redis, processes' memory, and a throwaway PostgreSQL database.

``throwaway_database`` uses DATABASE_URL when it is set (and fails loudly if that server is
unusable); without it, it tries the local default server and skips the benchmark, with the
reason, when there is none.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.support.commands import SHOPMIND

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def server_env(data_dir: Path, database_url: str | None = None, redis: str | None = None) -> dict:
    """The environment of a benchmark's shopmind processes: this process's, without the caller's
    database, Redis or artifact store, plus fixed tokens, quiet logs and a rate limit never reached."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ARTIFACT_DIR")}
    env.update({"SHOPMIND_DATA_DIR": str(data_dir), "SHOPMIND_ADMIN_TOKEN": "bench-admin",
                "SHOPMIND_INTERNAL_TOKEN": "bench-internal", "SHOPMIND_LOG_LEVEL": "WARNING",
                "GUNICORN_ACCESSLOG": "", "SHOPMIND_RATE_LIMIT_PER_MINUTE": "1000000000"})
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis:
        env["REDIS_URL"] = redis
    return env


def bench_settings(env: dict):
    """The settings the benchmark's shopmind processes read from ``env`` (this process's own
    DATABASE_URL does not leak in: an empty value counts as unset)."""
    from shared.config import load_settings

    return load_settings({k: env.get(k, "") for k in ("SHOPMIND_DATA_DIR", "SHOPMIND_ADMIN_TOKEN",
                                                       "SHOPMIND_INTERNAL_TOKEN", "DATABASE_URL")})


def new_shop(env: dict, name: str) -> dict:
    """Bring the benchmark's database to the latest schema and create a shop the way an operator
    does (``shopmind create-shop``, whose salt pseudonymises buyer ids as imports do); returns
    its JSON: ``{"shop": {"id", ...}, "api_key": {"key", ...}}``."""
    from shared.migrate import upgrade

    settings = bench_settings(env)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    created = subprocess.run([*SHOPMIND, "create-shop", name], cwd=ROOT, env=env, check=True, capture_output=True,
                             text=True)
    return json.loads(created.stdout)


def start_server(target: str, port: int, env: dict, log_path: Path, workers: int | None = None,
                 timeout_s: float = 60) -> subprocess.Popen:
    """``shopmind serve <target>`` on ``port``, returned once its /healthz answers 200; if it does
    not within ``timeout_s``, the process is killed and the benchmark fails with its log's tail."""
    import httpx

    command = [*SHOPMIND, "serve", target, "--port", str(port)]
    log = open(log_path, "wb")
    process = subprocess.Popen([*command, *(["--workers", str(workers)] if workers else [])], cwd=ROOT, env=env,
                               stdout=log, stderr=log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"{target} did not start:\n" + log_path.read_text()[-3000:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url() -> str | None:
    """REDIS_URL (else the local default) if a Redis answers there, else None."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
        return url
    except Exception:
        return None


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return sorted(int(p) for p in out)


def status_mb(pid: int, field: str) -> float:
    """A memory field of /proc/PID/status (VmRSS, VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def smaps_mb(pid: int) -> dict:
    """RSS, PSS (shared pages divided among their mappers) and private pages of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {"rss": round(fields["Rss"], 1), "pss": round(fields["Pss"], 1),
            "private": round(fields["Private_Clean"] + fields["Private_Dirty"], 1)}


def throwaway_database(prefix: str = "shopmind_bench"):
    """Create an empty PostgreSQL database; (sqlalchemy URL, drop function)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    configured = os.environ.get("DATABASE_URL", "")
    server = configured if configured.startswith("postgresql") else DEFAULT_SERVER
    url = make_url(server).set(drivername="postgresql+psycopg2")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if configured.startswith("postgresql"):
            raise
        pytest.skip(f"needs PostgreSQL: DATABASE_URL is unset and {DEFAULT_SERVER} answered "
                    f"{exc.__class__.__name__}")

    def drop():
        from shared.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name), drop
