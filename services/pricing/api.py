"""HTTP routes of the pricing service (API.md)."""

from flask_smorest import Blueprint

blp = Blueprint("pricing", __name__, url_prefix="/v1", description="Elasticity, price advice and competitor watch")
