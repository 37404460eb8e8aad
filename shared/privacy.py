"""Buyer identities: nicknames never stored, only a stable salted per-shop pseudonym.

Every place a shop's own user id enters (imports, ``POST /v1/events``, recommendation
lookups) goes through :func:`pseudonymise`, so the same buyer gets the same ``user_id`` in
orders, reviews, events and customers, and ids do not join across shops.
"""

from __future__ import annotations

import hmac
import re

PSEUDONYM = re.compile(r"^u[0-9a-f]{20}$")


def pseudonymise(salt: str, raw_user_id: str) -> str:
    """``u`` + 20 hex chars of HMAC-SHA256(salt, id). Already-pseudonymous ids pass through."""
    if PSEUDONYM.match(raw_user_id):
        return raw_user_id
    return "u" + hmac.digest(salt.encode(), raw_user_id.encode(), "sha256").hex()[:20]


def pseudonymise_many(salt: str, raw_ids) -> dict[str, str]:
    """Hash each distinct id once (imports repeat the same buyers many times)."""
    key = salt.encode()
    pseudonymous = PSEUDONYM.match
    return {raw: raw if pseudonymous(raw) else "u" + hmac.digest(key, raw.encode(), "sha256").hex()[:20]
            for raw in set(raw_ids)}
