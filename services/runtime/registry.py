"""What exists to run: the serve targets and the modules that declare jobs.

Listed explicitly (not discovered) so a reader sees every app factory and every task module.
"""

from __future__ import annotations

# target -> "module:factory"; all-in-one composes every service in one process.
FACTORIES = {
    "all-in-one": "services.runtime.allinone:create_background_app",
    "gateway": "services.gateway.app:create_app",
    "ingestion": "services.ingestion.app:create_app",
    "recommendation": "services.recommendation.app:create_app",
    "forecasting": "services.forecasting.app:create_app",
    "sentiment": "services.sentiment.app:create_app",
    "pricing": "services.pricing.app:create_app",
    "insights": "services.insights.app:create_app",
    "decisions": "services.decisions.app:create_app",
}
SERVE_TARGETS = tuple(FACTORIES)

TASK_MODULES = [
    "shared.platform_tasks",
    "services.ingestion.tasks",
    "services.recommendation.tasks",
    "services.forecasting.tasks",
    "services.sentiment.tasks",
    "services.pricing.tasks",
    "services.insights.tasks",
    "services.decisions.tasks",
]


def task_modules(queues: tuple[str, ...] | None = None) -> list[str]:
    """The task modules a worker of ``queues`` (default: every queue) needs: each module's queue
    is its package's name."""
    def queue(module: str) -> str:
        return module.split(".")[1] if module.startswith("services.") else "platform"

    return [m for m in TASK_MODULES if queues is None or queue(m) in queues]
