"""HTTP routes of the ingestion service (API.md, "Ingestion")."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.ingestion.presets import ENTITY_FIELDS, PRESETS
from services.ingestion.schemas import ImportFormatsSchema

blp = Blueprint("ingestion", __name__, url_prefix="/v1", description="Imports and real-time events")


@blp.route("/imports/presets")
class ImportFormats(MethodView):
    @blp.response(200, ImportFormatsSchema)
    def get(self):
        """The entities that can be imported, their fields, and the import presets."""
        return {
            "entities": [{"entity": name, "required": list(req), "optional": list(opt)}
                         for name, (req, opt) in ENTITY_FIELDS.items()],
            "presets": [{"preset": name, "description": text} for name, text in PRESETS.items()],
        }
