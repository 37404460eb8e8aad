"""HTTP routes of the recommendation service (API.md)."""

from flask_smorest import Blueprint

blp = Blueprint("recommendation", __name__, url_prefix="/v1",
                description="Personalised, similar, bought-together and trending items")
