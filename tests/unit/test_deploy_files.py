"""docker-compose.yml and the gunicorn config agree with the code they run."""

from pathlib import Path

import yaml

from services.runtime.cli import SERVE_TARGETS
from services.runtime.registry import TASK_MODULES, task_modules
from shared.celery_app import QUEUES, queue_for
from shared.config import DOMAIN_SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_one_container_per_service_and_only_nginx_is_published():
    served = {name: spec["command"] for name, spec in COMPOSE.items() if spec.get("command", [None])[:2] ==
              ["shopmind", "serve"]}
    assert set(served) == {"gateway", *DOMAIN_SERVICES}
    for name, command in served.items():
        assert command[2] == name and command[2] in SERVE_TARGETS
        assert COMPOSE[name]["healthcheck"]["test"][-1].endswith("/healthz")
    # Clients reach the gateway only through nginx, which it trusts for their address.
    assert [name for name, spec in COMPOSE.items() if spec.get("ports")] == ["nginx"]
    assert COMPOSE["nginx"]["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert COMPOSE["gateway"]["environment"]["SHOPMIND_TRUSTED_PROXIES"] == "1"
    assert all("SHOPMIND_TRUSTED_PROXIES" not in COMPOSE[name]["environment"] for name in DOMAIN_SERVICES)


def test_workers_cover_every_queue_and_migrate_runs_first():
    queues = set()
    for spec in COMPOSE.values():
        command = spec.get("command", [])
        if command[:2] == ["shopmind", "worker"]:
            queues |= set(command[command.index("--queues") + 1].split(","))
    assert queues == set(QUEUES)
    assert COMPOSE["migrate"]["command"] == ["shopmind", "migrate"]
    assert COMPOSE["gateway"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_gateway_knows_every_service_url():
    env = COMPOSE["gateway"]["environment"]
    for name in DOMAIN_SERVICES:
        assert env[f"SHOPMIND_{name.upper()}_URL"] == f"http://{name}:8000"


def test_each_worker_imports_the_task_modules_of_its_queues_and_no_more():
    for spec in COMPOSE.values():
        command = spec.get("command", [])
        if command[:2] == ["shopmind", "worker"]:
            queues = tuple(command[command.index("--queues") + 1].split(","))
            modules = task_modules(queues)
            for name in TASK_MODULES:
                served = queue_for(name.split(".")[1] + ".x") in queues if name.startswith("services.") else (
                    "platform" in queues)
                assert (name in modules) == served, (queues, name)
    assert task_modules(("platform", "ingestion")) == ["shared.platform_tasks", "services.ingestion.tasks"]
    assert task_modules() == TASK_MODULES


def test_a_worker_refuses_an_unknown_queue():
    from click.testing import CliRunner

    from services.runtime.cli import main

    result = CliRunner().invoke(main, ["worker", "--queues", "ingestion,trainig"],
                                env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.exit_code != 0 and "trainig" in result.output
