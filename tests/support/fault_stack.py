"""A private distributed stack for fault tests: its own PostgreSQL cluster and Redis, and shopmind
processes (gateway, services, Celery worker, beat) that a test may kill and start again.

The machine's shared PostgreSQL and Redis are never touched: other test runs use them.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.commands import SHOPMIND

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout_s: float, what: str, interval_s: float = 0.1):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # not up yet
            last_error = exc
        time.sleep(interval_s)
    raise AssertionError(f"{what} within {timeout_s:.0f}s (last error: {last_error!r})")


def _postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def missing_binaries() -> list[str]:
    wanted = {"redis-server": shutil.which("redis-server"), "initdb": _postgres_bin("initdb"),
              "pg_ctl": _postgres_bin("pg_ctl")}
    if os.geteuid() == 0:
        wanted["runuser"] = shutil.which("runuser")
    return [name for name, path in wanted.items() if not path]


class PrivateRedis:
    """redis-server on a free port, without persistence: a restart loses every queued message."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: redis.Redis.from_url(self.url, socket_timeout=1).ping(), 10, "redis did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary folder, on a free port (run as ``postgres``
    when the tests run as root: initdb refuses root)."""

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="shopmind-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop("fast")
        self.start()

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except Exception:  # already down
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class ShopmindProcess:
    """``python -m services.runtime.cli ARGS`` in its own process group, so killing it kills its children too
    (gunicorn and Celery fork workers), as when a container or host dies."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path, port: int | None = None,
                 ready_text: str = "ready."):
        self.name, self.args, self.env, self.port, self.ready_text = name, args, env, port, ready_text
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ShopmindProcess:
        if self.log_path.exists():  # readiness is read from the log: start each run on a fresh one
            self.log_path.rename(self.log_path.with_suffix(f".{time.monotonic_ns()}.log"))
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([*SHOPMIND, *self.args], cwd=ROOT, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    def wait_ready(self, timeout_s: float = 60) -> None:
        def up():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
            if self.port is None:  # a worker or beat: its log says when it is ready
                return self.ready_text in self.log_path.read_text(errors="replace")
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200

        wait_until(up, timeout_s, f"{self.name} did not start:\n{self.log_tail()}", interval_s=0.2)

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean-up, no acknowledgement, nothing."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""
