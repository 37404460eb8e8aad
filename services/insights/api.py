"""HTTP routes of the insights service (API.md)."""

from flask_smorest import Blueprint

blp = Blueprint("insights", __name__, url_prefix="/v1", description="Questions, segments, anomalies and reports")
