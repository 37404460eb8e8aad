"""HTTP routes of the ingestion service (API.md)."""

from flask_smorest import Blueprint

blp = Blueprint("ingestion", __name__, url_prefix="/v1", description="Imports and real-time events")
