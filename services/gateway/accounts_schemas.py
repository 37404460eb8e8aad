"""Request and response schemas of the console's account and session routes."""

from __future__ import annotations

import marshmallow as ma

from services.gateway.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from shared.i18n import LANGUAGES
from shared.models import USER_ROLES
from shared.schemas import StrictSchema

EMAIL_MAX_LENGTH = 254  # RFC 5321's longest deliverable address


def _new_password(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH), **kwargs)


class SignInSchema(StrictSchema):
    # Not checked for form: any wrong email gets the same 401 as a wrong password.
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=EMAIL_MAX_LENGTH))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=PASSWORD_MAX_LENGTH))
    csrf_token = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200), metadata={
        "description": "the login form's hidden field; required only with the shopmind_login cookie GET /login "
                       "sets (a browser); API clients send neither"})


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    role = ma.fields.String()
    language = ma.fields.String()
    shop = ma.fields.Integer(metadata={"description": "the user's shop id"})
    created_at = ma.fields.DateTime()


class NewUserSchema(UserSchema):
    password = ma.fields.String(metadata={
        "description": "only when none was given: the generated password, shown this once"})


class UserListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UserSchema))


class SignedInSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema)
    csrf_token = ma.fields.String(metadata={
        "description": "send it as X-CSRF-Token with every POST, PUT, PATCH and DELETE made with the cookie"})


class UserCreateSchema(StrictSchema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=EMAIL_MAX_LENGTH))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(USER_ROLES))
    password = _new_password(metadata={"description": "leave out to have one generated and returned once"})


class PasswordChangeSchema(StrictSchema):
    current = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=PASSWORD_MAX_LENGTH))
    new = _new_password(required=True)


class MeUpdateSchema(StrictSchema):
    language = ma.fields.String(required=True, validate=ma.validate.OneOf(LANGUAGES))


class MeSchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": ["user", "key"]})
    shop = ma.fields.Integer(metadata={"description": "the shop id"})
    shop_name = ma.fields.String(allow_none=True)
    role = ma.fields.String()
    key_id = ma.fields.Integer(metadata={"description": "kind key: the API key's id"})
    id = ma.fields.Integer(metadata={"description": "kind user: the user's id"})
    email = ma.fields.String()
    language = ma.fields.String()
    csrf_token = ma.fields.String(metadata={"description": "kind user: the session's CSRF token"})
    user = ma.fields.Nested(UserSchema)
