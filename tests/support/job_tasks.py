"""Job tasks used by the test suite to drive the real job mechanism (loaded by the test
worker with ``shopmind worker --include tests.support.job_tasks``)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

from shared.errors import InvalidInput
from shared.jobs import JobContext, job_task


@job_task("tests.progress")
def progress_job(ctx: JobContext) -> dict:
    steps = int(ctx.params.get("steps", 4))
    for step in range(1, steps + 1):
        time.sleep(float(ctx.params.get("step_s", 0.2)))
        ctx.progress(step / steps, f"step {step} of {steps}", force=True)
    return {"steps": steps, "shop_id": ctx.shop_id}


@job_task("tests.fail")
def failing_job(ctx: JobContext) -> dict:
    raise ValueError("the input had no rows")


@job_task("tests.invalid")
def invalid_job(ctx: JobContext) -> dict:
    raise InvalidInput("column 订单编号 is missing", errors={"订单编号": ["required column is missing"]})


@job_task("tests.flaky")
def flaky_job(ctx: JobContext) -> dict:
    """Fails with a lost-connection error the first time, succeeds when retried."""
    marker = Path(ctx.params["marker"])
    if not marker.exists():
        marker.write_text("first attempt")
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    return {"recovered": True}
