"""The composition decides what code a process loads: a service's process in distributed mode
imports no other service (it sends jobs to the workers by name), while embedded processes, which
run the jobs they start, declare every service's jobs."""

import json
import subprocess
import sys
from pathlib import Path

from services.runtime.registry import SERVE_TARGETS, TASK_MODULES, task_modules

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter: this test process has long imported every service.
PROBE = """
import json, sys
from services.runtime import serving
from shared.jobs import REGISTRY
if sys.argv[1] == "all-in-one":  # without the background threads `shopmind serve all-in-one` adds
    from services.runtime.allinone import create_app as factory
else:
    factory = serving.load_factory(sys.argv[1])
factory()
services = sorted({m.split(".")[1] for m in sys.modules if m.startswith("services.")})
print(json.dumps({"kinds": sorted(REGISTRY), "services": services}))
"""


def _probe(target: str, tmp_path, redis_url: str = "") -> dict:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}", "SHOPMIND_DATA_DIR": str(tmp_path),
           "REDIS_URL": redis_url}
    done = subprocess.run([sys.executable, "-c", PROBE, target], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_distributed_service_process_imports_no_other_service(tmp_path):
    seen = _probe("ingestion", tmp_path, redis_url="redis://127.0.0.1:1/0")  # never contacted
    assert set(seen["services"]) <= {"ingestion", "runtime"}, seen["services"]
    assert all(kind.startswith("ingestion.") for kind in seen["kinds"]), seen["kinds"]


def test_embedded_processes_declare_every_services_jobs(tmp_path):
    every = {"ingestion", "recommendation", "forecasting", "sentiment", "pricing", "insights"}
    for target in ("all-in-one", "ingestion"):
        seen = _probe(target, tmp_path)
        assert {kind.split(".")[0] for kind in seen["kinds"]} >= every, (target, seen["kinds"])


def test_the_registry_lists_every_serve_target_and_task_module():
    assert SERVE_TARGETS[:2] == ("all-in-one", "gateway")
    assert task_modules() == TASK_MODULES and task_modules(("platform",)) == ["shared.platform_tasks"]
