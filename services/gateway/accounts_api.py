"""The console's routes: sign in and out, the caller, the shop's users (docs/api.md, "Console
and sessions"). HTTP only: the use cases are in ``accounts``."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.http import dump_cookie

from services.gateway import accounts, security
from services.gateway.accounts_schemas import (
    MeSchema,
    MeUpdateSchema,
    NewUserSchema,
    PasswordChangeSchema,
    SignedInSchema,
    SignInSchema,
    UserCreateSchema,
    UserListSchema,
    UserSchema,
)
from shared.auth import current_principal, current_shop_id
from shared.db import request_session
from shared.login_form import LOGIN_COOKIE

blp = Blueprint("console", __name__, url_prefix="/v1", description="Console users and sessions")


def _settings():
    return current_app.config["SETTINGS"]


def _throttle() -> accounts.LoginThrottle:
    return current_app.extensions["shopmind.login_throttle"]


def _session_cookie(value: str, max_age: int) -> dict[str, str]:
    # Secure when the request came over HTTPS (behind nginx: X-Forwarded-Proto, believed only
    # with SHOPMIND_TRUSTED_PROXIES); HttpOnly so scripts never see it; Lax stops cross-site posts.
    return {"Set-Cookie": dump_cookie(security.SESSION_COOKIE, value, max_age=max_age, path="/", httponly=True,
                                      secure=request.is_secure, samesite="Lax")}


def _signed_in_cookies(token: str, max_age: int) -> list[tuple[str, str]]:
    """The session cookie, and the login form's pre-session cookie dropped (its work is done)."""
    cookies = [("Set-Cookie", _session_cookie(token, max_age)["Set-Cookie"])]
    if LOGIN_COOKIE in request.cookies:
        cookies.append(("Set-Cookie", dump_cookie(LOGIN_COOKIE, "", max_age=0, path="/", httponly=True,
                                                  secure=request.is_secure, samesite="Strict")))
    return cookies


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.arguments(SignInSchema)
    @blp.response(201, SignedInSchema)
    @blp.alt_response(401, description="unknown email or wrong password (one answer for both)")
    @blp.alt_response(403, description="the login page's cookie came without its form's csrf_token (or a wrong "
                                       "or expired one)")
    @blp.alt_response(429, description="too many failed sign-ins for this email or from this address")
    def post(self, args):
        """Sign in to the console: sets an HttpOnly session cookie and returns the CSRF token."""
        signed_in = accounts.sign_in(_settings(), _throttle(), args["email"], args["password"], request.remote_addr,
                                     login_form=(request.cookies.get(LOGIN_COOKIE), args["csrf_token"]))
        return ({"user": signed_in["user"], "csrf_token": signed_in["csrf_token"]}, 201,
                _signed_in_cookies(signed_in["token"], _settings().session_max_s))


@blp.route("/sessions/current")
class CurrentSession(MethodView):
    @blp.response(204)
    def delete(self):
        """Sign out: the session ends on the server and the cookie is cleared."""
        accounts.sign_out(_settings(), security.console_session())
        return None, 204, _session_cookie("", 0)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self):
        """Who is calling: the signed-in user (with the session's CSRF token) or the API key."""
        return accounts.describe_caller(request_session(), current_principal(), security.console_session())

    @blp.arguments(MeUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, args):
        """Change the signed-in user's language (what answers come in without Accept-Language)."""
        return accounts.set_language(request_session(), security.console_session(), args["language"])


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, UserListSchema)
    def get(self):
        """List this shop's console users (admin)."""
        return {"items": accounts.list_users(request_session())}

    @blp.arguments(UserCreateSchema)
    @blp.response(201, NewUserSchema)
    @blp.alt_response(409, description="the email is already used (emails are unique across the platform)")
    def post(self, args):
        """Add a console user to this shop (admin); without a password one is generated and shown once."""
        return accounts.create_user(request_session(), current_shop_id(), args["email"], args["role"],
                                    args.get("password"))


@blp.route("/users/<row_id:user_id>")
class UserById(MethodView):
    @blp.response(204)
    def delete(self, user_id):
        """Remove a console user (admin); their sessions end at once."""
        accounts.remove_user(request_session(), user_id)


@blp.route("/users/me/password")
class MyPassword(MethodView):
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def post(self, args):
        """Change the signed-in user's password; their other sessions end."""
        accounts.change_password(request_session(), _throttle(), security.console_session(), args["current"],
                                 args["new"], request.remote_addr)
