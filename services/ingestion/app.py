"""App factory of the ingestion service."""

from collections.abc import Mapping

from flask import Flask

from services.ingestion.api import blp
from shared.config import Settings
from shared.web import create_service_app


def create_app(config: Mapping | Settings | None = None) -> Flask:
    return create_service_app("ingestion", [blp], config)
