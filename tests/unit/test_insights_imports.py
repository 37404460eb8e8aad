"""Insights reaches other services only through their public routes: loading its app and its jobs
loads no other service's code, so an insights worker registers insights' tasks alone."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_insights_loads_no_other_service_and_registers_only_its_own_jobs():
    probe = ("import json, sys\n"
             "import services.insights.app, services.insights.tasks\n"
             "from shared.jobs import REGISTRY\n"
             "print(json.dumps({'modules': sorted(m for m in sys.modules if m.startswith('services.')),\n"
             "                  'jobs': sorted(REGISTRY)}))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(m == "services" or m.startswith("services.insights") for m in loaded["modules"]), loaded["modules"]
    assert loaded["jobs"] == ["insights.train"]
