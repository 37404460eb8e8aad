"""App factory of the decisions service."""

from collections.abc import Mapping

from flask import Flask

from services.decisions.api import blp
from shared.config import Settings
from shared.web import create_service_app


def create_app(config: Mapping | Settings | None = None) -> Flask:
    return create_service_app("decisions", [blp], config)
