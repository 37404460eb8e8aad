"""Fixtures shared by the whole suite.

Without DATABASE_URL / REDIS_URL everything runs embedded (SQLite file, in-process job runner).
With them (CI), the suite creates its own PostgreSQL database on that server, runs a real
``shopmind worker`` process on Redis, and drops the database at the end.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as `shopmind` sets it for every process

import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.commands import SHOPMIND
from tests.support.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = ROOT / "tests" / "integration"
PLATFORM_TOKEN = "test-platform-token"


def pytest_collection_modifyitems(config, items):
    """Every test under tests/integration is marked ``integration`` (select with ``-m``)."""
    for item in items:
        if INTEGRATION_DIR in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _create_database(server_url: str) -> tuple[str, callable]:
    url = make_url(server_url).set(drivername="postgresql+psycopg2")
    name = f"shopmind_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        from shared.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def base_env(tmp_path_factory):
    """The environment every process of the test run shares (test process and worker)."""
    data_dir = tmp_path_factory.mktemp("shopmind")
    env = {
        "SHOPMIND_DATA_DIR": str(data_dir),
        "ARTIFACT_DIR": str(data_dir / "artifacts"),
        "SHOPMIND_ADMIN_TOKEN": PLATFORM_TOKEN,
        "SHOPMIND_INTERNAL_TOKEN": "test-internal-token",
        "SHOPMIND_WEBHOOK_ALLOW_HOSTS": "127.0.0.1,localhost",
        "SHOPMIND_WEBHOOK_ALLOW_HTTP": "1",
        "SHOPMIND_MODEL_CHECK_INTERVAL_S": "0.05",
        "SHOPMIND_RATE_LIMIT_PER_MINUTE": "100000",
    }
    drop = None
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"], drop = _create_database(os.environ["DATABASE_URL"])
    else:
        env["DATABASE_URL"] = f"sqlite:///{data_dir / 'shopmind.db'}"
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    from shared.migrate import upgrade

    upgrade(env["DATABASE_URL"])
    yield env
    if drop:
        drop()


@pytest.fixture(scope="session")
def settings(base_env):
    from shared.config import load_settings

    return load_settings(base_env)


@pytest.fixture(scope="session")
def worker(base_env, settings, tmp_path_factory):
    """A real Celery worker process on Redis (distributed runs); None when embedded."""
    if settings.embedded:
        yield None
        return
    import redis

    from shared import celery_app

    redis.Redis.from_url(settings.redis_url).delete(*celery_app.QUEUES)  # leftovers of earlier runs
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [*SHOPMIND, "worker", "--include", "tests.support.job_tasks",
         "--concurrency", "2"],
        cwd=ROOT, env={**os.environ, **base_env}, stdout=log, stderr=subprocess.STDOUT,
    )
    app = celery_app.configure(settings)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the Celery worker did not start:\n" + log_path.read_text()[-3000:])
    yield process
    stop_process(process)
    log.close()


@pytest.fixture(scope="session")
def app(settings, worker):
    """The all-in-one app: the gateway with every service mounted in-process."""
    import tests.support.job_tasks  # noqa: F401  (the embedded runner finds test tasks here)
    from services.runtime.allinone import create_app
    from shared import jobs

    yield create_app(settings)
    jobs.shutdown_embedded_runner()  # no job thread may outlive the run (its log stream is closed)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """The demo shop's files per (seed, scale), each data set generated once per run."""
    from tests.support.demo_shops import DemoData

    return DemoData(tmp_path_factory)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class ShopHandle:
    """A fresh shop (each test gets its own: tenancy keeps tests apart) and keys per role."""

    client: object
    id: int
    admin_key: str
    admin_key_id: int
    _keys: dict = field(default_factory=dict)

    def key(self, role: str) -> str:
        if role == "admin":
            return self.admin_key
        if role not in self._keys:
            reply = self.client.post("/v1/keys", json={"role": role}, headers=self.headers("admin"))
            assert reply.status_code == 201, reply.get_json()
            self._keys[role] = reply.get_json()["key"]
        return self._keys[role]

    def headers(self, role: str = "admin", language: str | None = None) -> dict:
        """The key's Authorization header; ``language`` adds an Accept-Language (default: the shop's, zh-CN)."""
        headers = {"Authorization": f"Bearer {self.key(role)}"}
        if language:
            headers["Accept-Language"] = language
        return headers


def make_shop(client, name: str = "测试店", language: str = "zh-CN") -> ShopHandle:
    reply = client.post("/v1/shops", json={"name": name, "language": language},
                        headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"})
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    return ShopHandle(client, body["shop"]["id"], body["api_key"]["key"], body["api_key"]["id"])


def _language(request) -> str:
    """A test module that reads our messages in English says SHOP_LANGUAGE = "en"."""
    return getattr(request.module, "SHOP_LANGUAGE", "zh-CN")


@pytest.fixture
def shop(client, request) -> ShopHandle:
    return make_shop(client, "店铺A", _language(request))


@pytest.fixture
def other_shop(client, request) -> ShopHandle:
    return make_shop(client, "店铺B", _language(request))


@pytest.fixture(scope="module")
def webhook_receiver():
    """A local HTTP server that records every request: a business system receiving webhooks."""
    from tests.support.http_servers import Recorder

    server = Recorder()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(app):
    """The all-in-one app on a real socket, for the browser."""
    from tests.support.browser import LiveServer

    server = LiveServer(app)
    yield server
    server.stop()
