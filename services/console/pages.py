"""The console's pages: a shell per path, rendered in the reader's language.

Whether someone is logged in is decided by the gateway on every ``/v1`` call (the session
cookie is a credential there); a page only checks that the cookie is present, so a visitor
without one goes straight to the login form instead of a page whose every call would fail.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from shared import i18n
from shared.config import TRAINABLE_SERVICES
from shared.login_form import LOGIN_COOKIE, LOGIN_TOKEN_TTL_S, is_login_nonce, mint_login_token, new_login_nonce

SESSION_COOKIE = "shopmind_session"  # set by POST /v1/sessions (HttpOnly)
LANGUAGE_COOKIE = "shopmind_language"  # the reader's choice on the settings page
# (path, endpoint, nav label key or None): the pages and the order of the nav.
PAGES = [("/", "dashboard", "nav_dashboard"), ("/imports", "imports", "nav_imports"), ("/ask", "ask", "nav_ask"),
         ("/alerts", "alerts", "nav_alerts"), ("/forecasts", "forecasts", "nav_forecasts"),
         ("/pricing", "pricing", "nav_pricing"), ("/reviews", "reviews", "nav_reviews"),
         ("/recommendations", "recommendations", "nav_recommendations"), ("/segments", "segments", "nav_segments"),
         ("/decisions", "decisions", "nav_decisions"), ("/reports/weekly", "weekly", "nav_weekly"),
         ("/admin", "admin", "nav_admin"), ("/settings", "settings", None)]
LOGIN_PATH = "/login"
# What POST /v1/imports?entity= takes, in the order a shop usually loads them (docs/imports.md).
IMPORT_ENTITIES = ["orders", "order_items", "products", "customers", "events", "reviews", "inventory",
                   "competitor_prices"]
PAGE_PATHS = frozenset({page[0] for page in PAGES} | {LOGIN_PATH})
# Scripts only from us (no inline script, no eval: charts use Vega's expression interpreter);
# Vega-Embed and Vega set inline styles, and a chart may be downloaded as a data: or blob: image.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# Catalogue keys the browser needs (messages, units); passed to the page as JSON data.
SCRIPT_KEYS_PREFIX = "console.js_"

console = Blueprint("console_pages", __name__, template_folder="templates", static_folder="static",
                    static_url_path="/static/console")


def page_language() -> str:
    """The reader's choice (the cookie the pages keep in step with their saved setting), else zh-CN:
    Chinese first, whatever language the browser itself is set to."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def _label(key: str, **params) -> str:
    return str(i18n.t(f"console.{key}", **params))


def _script_messages(language: str) -> dict[str, str]:
    catalogue = i18n.catalogue(language)
    return {key.removeprefix(SCRIPT_KEYS_PREFIX): value for key, value in catalogue.items()
            if key.startswith(SCRIPT_KEYS_PREFIX)}


@cache
def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _asset(filename: str) -> str:
    """One of our own files, its URL carrying a hash of its content: browsers keep static files a
    day, and a new release must not run with yesterday's script."""
    return url_for("console_pages.static", filename=filename, v=_fingerprint(Path(console.static_folder) / filename))


def _vendor(package: str, filename: str) -> str:
    """A vendored asset's URL, versioned so an upgrade replaces the browser's cached copy."""
    manifest = json.loads((Path(current_app.static_folder) / "vendor" / "manifest.json").read_text())
    version = manifest["packages"][package]["version"]
    return url_for("static", filename=f"vendor/{package}/{filename}", v=version)


@console.before_request
def _read_in_page_language() -> None:
    # The app's own hook chose from Accept-Language alone; a page also honours the reader's choice.
    i18n.set_language(page_language())


def _render(template: str, page: str, **context) -> Response:
    language = i18n.current_language()
    data = {"page": page, "language": language, "messages": _script_messages(language),
            "login": LOGIN_PATH, "session_cookie": SESSION_COOKIE, "language_cookie": LANGUAGE_COOKIE,
            **context.pop("data", {})}
    # The JSON sits in a <script type="application/json"> block: no "</" may close it early.
    body = render_template(template, page=page, language=language, _=_label, vendor=_vendor, asset=_asset,
                           nav=[(path, label) for path, _endpoint, label in PAGES if label],
                           page_data=json.dumps(data, ensure_ascii=False).replace("</", "<\\/"), **context)
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def _needs_login() -> Response | None:
    if request.cookies.get(SESSION_COOKIE):
        return None
    wanted = request.full_path.rstrip("?") if request.query_string else request.path
    return redirect(f"{LOGIN_PATH}?next={quote(wanted, safe='/')}", code=302)


@console.get("/")
def dashboard():
    return _needs_login() or _render("dashboard.html", "dashboard")


@console.get("/imports")
def imports():
    return _needs_login() or _render("imports.html", "imports", entities=IMPORT_ENTITIES)


@console.get("/ask")
def ask():
    """``/ask?q=<question>`` opens that answer (the form's own field, ``question``, works too)."""
    question = request.args.get("q") or request.args.get("question") or ""
    return _needs_login() or _render("ask.html", "ask", question=question,
                                     data={"question": question,
                                           "suggestions": i18n.entries("insights.example_questions")})


@console.get("/forecasts")
def forecasts():
    """``/forecasts?item=<id>`` opens that item's forecast."""
    return _needs_login() or _render("forecasts.html", "forecasts", data={"item": request.args.get("item", "")})


@console.get("/pricing")
def pricing():
    return _needs_login() or _render("pricing.html", "pricing", data={"item": request.args.get("item", "")})


@console.get("/segments")
def segments():
    return _needs_login() or _render("segments.html", "segments")


@console.get("/decisions")
def decisions():
    return _needs_login() or _render("decisions.html", "decisions")


@console.get("/alerts")
def alerts():
    return _needs_login() or _render("alerts.html", "alerts")


@console.get("/reviews")
def reviews():
    """``/reviews?item=<id>`` opens that item's reviews."""
    return _needs_login() or _render("reviews.html", "reviews", data={"item": request.args.get("item", "")})


@console.get("/recommendations")
def recommendations():
    return _needs_login() or _render("recommendations.html", "recommendations",
                                     data={"user": request.args.get("user", ""), "item": request.args.get("item", "")})


@console.get("/reports/weekly")
def weekly():
    return _needs_login() or _render("weekly.html", "weekly")


@console.get("/admin")
def admin():
    return _needs_login() or _render("admin.html", "admin", services=TRAINABLE_SERVICES)


@console.get("/settings")
def settings():
    return _needs_login() or _render("settings.html", "settings")


@console.get(LOGIN_PATH)
def login():
    return _login_form()


@console.post(LOGIN_PATH)
def login_without_script():
    """Where the form goes when the browser runs no script (login.js sends it to POST /v1/sessions
    instead). The console draws every page with scripts, so it says so rather than sign in to
    pages that would stay empty."""
    return _login_form(no_script=True), 400


def _login_form(no_script: bool = False) -> Response:
    """The form, with the login CSRF token for this browser's pre-session cookie (kept if it has
    one, so two open login tabs both work)."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not is_login_nonce(nonce):
        nonce = new_login_nonce()
    response = _render("login.html", "login", no_script=no_script,
                       csrf_token=mint_login_token(current_app.config["SETTINGS"].internal_token, nonce),
                       data={"next": safe_next(request.args.get("next"))})
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_TOKEN_TTL_S, path="/", httponly=True,
                        secure=request.is_secure, samesite="Strict")
    return response


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never ``//elsewhere`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
