"""HTTP routes of the sentiment service (API.md)."""

from flask_smorest import Blueprint

blp = Blueprint("sentiment", __name__, url_prefix="/v1", description="Review sentiment, complaints and alerts")
