"""The shopmind services; each is a Flask app of its own (see their app.py)."""


# marshmallow's error messages come from the catalogue; they must be in place before any service
# module defines a schema (shared/validation.py says why).
from shared import validation  # noqa: E402,F401
