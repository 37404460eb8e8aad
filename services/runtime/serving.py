"""Run a shopmind app under gunicorn (``shopmind serve``), with infra/gunicorn.conf.py."""

from __future__ import annotations

import importlib
import os
import runpy
from pathlib import Path

from gunicorn.app.base import BaseApplication

from services.runtime.registry import FACTORIES, task_modules
from shared.config import load_settings

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "infra" / "gunicorn.conf.py"
THREADED = {"all-in-one", "gateway"}


def load_factory(target: str):
    """The target's app factory. In embedded mode a process runs the jobs it starts, and a job may
    start another service's (an import starts review scoring), so every job is declared there;
    in distributed mode jobs go to the workers by name and a service imports no other service."""
    if load_settings().embedded:
        for module in task_modules():
            importlib.import_module(module)
    module, _, name = FACTORIES[target].partition(":")
    return getattr(importlib.import_module(module), name)


class _Gunicorn(BaseApplication):
    def __init__(self, target: str, options: dict):
        self.target = target
        self.options = options
        super().__init__()

    def load_config(self):
        file_settings = runpy.run_path(str(GUNICORN_CONF))
        for key, value in file_settings.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Called in each worker after the fork: nothing is connected in the master.
        return load_factory(self.target)()


def run_gunicorn(target: str, host: str, port: int, workers: int | None = None) -> None:
    options = {"bind": f"{host}:{port}"}
    if workers:
        options["workers"] = workers
    if target in THREADED:
        options["worker_class"] = "gthread"
        options["threads"] = int(os.environ.get("GUNICORN_THREADS", "8"))
    # The workers size their ?wait= slots (SHOPMIND_MAX_WAITERS) from the threads they really run:
    # a sync service has one, and a long poll there would stop it answering anything else.
    os.environ["GUNICORN_THREADS"] = str(options.get("threads", 1))
    if target == "all-in-one":
        if load_settings().embedded:
            # One process: the in-process job runner and SQLite want a single writer process, and
            # recycling it would stall serving while a job finishes.
            options["workers"] = 1
            options["max_requests"] = 0
    _Gunicorn(target, options).run()
