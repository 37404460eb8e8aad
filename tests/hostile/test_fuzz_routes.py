"""Every route of /openapi.json, fed hostile input generated from its own schema.

Two passes over each operation the document lists. A sweep puts every hostile value (lone
surrogates, NUL, 3,000-character strings, huge numbers, impossible dates and questions, crafted
cursors, wrong types) into each body field and each query and path parameter in turn, the rest of
the request valid; each JSON route also gets bodies nested 5,000 deep, of another media type, or
not JSON at all. Then Hypothesis draws whole requests from the schema with hostile values mixed in
anywhere. Whatever comes in, the answer is never a 5xx, and every 4xx is a problem document. A
route added tomorrow is fuzzed by this file without a change. Deterministic, bounded in time.
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from shared.auth import required_role
from tests.conftest import PLATFORM_TOKEN

EXAMPLES_PER_ROUTE = 25
PROBLEM_JSON = "application/problem+json"


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


HOSTILE_STRINGS = [
    "\ud800", "a\udfffb", "x\x00y", "x" * 3000, "", " ", "9" * 30, "-1", "0", "Asia", "../../etc/passwd",
    "2024年2月30日的销售额", "2024年13月的销量", "最近9999999天的销售额", "今年 XYZ123 的销量",
    "9999-12-31", "0001-01-01",
    "'; drop table shops; --", "null", "\u202e", "🙂" * 10, "%00", "NaN", "1e999",
    _cursor([10**30]), _cursor([2**63]), _cursor(["0001-01-01T00:00:00+14:00", "x"]),
    _cursor(["9999-12-31T23:59:59-12:00", "x"]), _cursor(["0001-01-01T00:00:00", "x"]), _cursor(["\x00", "\x00"]),
]
HOSTILE_NUMBERS = [0, -1, 2**31, 2**63, 10**30, -(10**30), 1e308, -1e308, 0.5]
HOSTILE_VALUES = [None, True, [], {}, [[[]]], {"\ud800": 1}]
# Whole bodies no schema describes: each JSON route gets every one.
HOSTILE_BODIES = [
    ("application/json", "[" * 5000 + "]" * 5000),
    ("application/json", '{"a":' * 3000 + "1" + "}" * 3000),
    ("application/json", "1" * 5000),
    ("application/json", '{"\\ud800": "\\udfff"}'),
    ("application/json", "{not json"),
    ("text/plain", '{"question": "本月销售额", "role": "client"}'),
    ("application/x-www-form-urlencoded", "role=client&question=x"),
]

# Values that make a body valid where "x" would not let the request get as far as the field under test.
SEEDS = {"question": "本月销售额", "url": "https://127.0.0.1/hook", "secret": "s" * 20}
HOSTILE = [*HOSTILE_STRINGS, *HOSTILE_NUMBERS, *HOSTILE_VALUES]

hostile_string = st.sampled_from(HOSTILE_STRINGS)
hostile_any = st.one_of(hostile_string, st.sampled_from(HOSTILE_NUMBERS), st.sampled_from(HOSTILE_VALUES))


class Spec:
    def __init__(self, document: dict):
        self.document = document

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.document["components"]["schemas"][name]
        return schema

    def seed(self, schema: dict, name: str | None = None):
        """A plain valid value for the schema: the rest of a request whose one field is under test."""
        schema = self.resolve(schema or {})
        if name in SEEDS:
            return SEEDS[name]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            return {k: self.seed(v, k) for k, v in schema.get("properties", {}).items()
                    if k in schema.get("required", [])}
        if kind == "array":
            return [self.seed(schema.get("items", {}))]
        if kind in ("integer", "number"):
            return max(schema.get("minimum", 1), 1)
        if kind == "boolean":
            return True
        return "2026-11-20" if schema.get("format") == "date" else "x" * max(1, schema.get("minLength", 1))

    def values(self, schema: dict, depth: int = 0) -> st.SearchStrategy:
        """Values the schema describes, or hostile ones in their place."""
        schema = self.resolve(schema or {})
        kind = schema.get("type")
        if "enum" in schema:
            valid = st.sampled_from(schema["enum"])
        elif kind == "object" and depth < 4:
            properties = schema.get("properties", {})
            required = set(schema.get("required", []))
            valid = st.fixed_dictionaries(
                {k: self.values(v, depth + 1) for k, v in properties.items() if k in required},
                optional={**{k: self.values(v, depth + 1) for k, v in properties.items() if k not in required},
                          "unknown": hostile_any})
        elif kind == "array" and depth < 4:
            valid = st.lists(self.values(schema.get("items", {}), depth + 1), min_size=1, max_size=3)
        elif kind == "integer":
            valid = st.integers(min_value=-(2**70), max_value=2**70)
        elif kind == "number":
            valid = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**70), 2**70)
        elif kind == "boolean":
            valid = st.booleans()
        elif schema.get("format") == "date":
            valid = st.dates().map(lambda d: d.isoformat())
        else:
            valid = st.text(max_size=20)
        return st.one_of(valid, hostile_any) if depth else st.one_of(valid, valid, hostile_any)

    def parameter_values(self, schema: dict) -> st.SearchStrategy:
        schema = self.resolve(schema or {})
        if "enum" in schema:
            valid = st.sampled_from([str(v) for v in schema["enum"]])
        elif schema.get("type") in ("integer", "number"):
            valid = st.integers(min_value=-(2**70), max_value=2**70).map(str)
        else:
            valid = st.text(max_size=20)
        return st.one_of(valid, hostile_string, st.sampled_from([str(n) for n in HOSTILE_NUMBERS]))


def _encode(value: str) -> str:
    """Percent-encoded as a client would send it; a lone surrogate goes as the bytes it would be."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, operation) for path, item in document["paths"].items()
            for method, operation in item.items() if isinstance(operation, dict)]


def _check(reply, what: str) -> str | None:
    if reply.status_code >= 500:
        return f"{what}: {reply.status_code} {reply.get_data(as_text=True)[:300]}"
    if reply.status_code >= 400 and reply.content_type != PROBLEM_JSON:
        return f"{what}: {reply.status_code} answered as {reply.content_type}"
    return None


@pytest.fixture
def callers(client, shop):
    return {"admin": shop.headers("admin"), "client": shop.headers("client"),
            "platform": {"Authorization": f"Bearer {PLATFORM_TOKEN}"}}


def _roles(method: str, path: str) -> list[str]:
    if path == "/v1/shops":
        return ["platform", "admin"]
    return ["admin", "client"] if required_role(method, path) == "client" else ["admin"]


def _role(method: str, path: str) -> str:
    return _roles(method, path)[0]


def _parts(operation: dict) -> tuple[list[dict], list[dict], dict | None]:
    """Query parameters, path parameters and the JSON body schema of an operation."""
    parameters = operation.get("parameters", [])
    query = [p for p in parameters if p["in"] == "query" and p["name"] != "wait"]  # a valid ?wait= only waits
    in_path = [p for p in parameters if p["in"] == "path"]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return query, in_path, body


def _url(path: str, path_args: dict[str, str], query: dict[str, str]) -> str:
    url = path
    for name, value in path_args.items():
        url = url.replace("{" + name + "}", _encode(value) or "x")
    url = url.replace("{", "").replace("}", "")  # parameters not given: a literal segment names no row
    if query:
        url += "?" + "&".join(f"{name}={_encode(value)}" for name, value in query.items())
    return url


def _send(client, callers, method, path, role, path_args=None, query=None, body=None, raw=None,
          content_type="application/json") -> str | None:
    """One request; the problem with its answer, if any."""
    url = _url(path, path_args or {}, query or {})
    data = raw if raw is not None else json.dumps(body) if body is not None else None
    headers = {**callers[role], **({"Content-Type": content_type} if data is not None else {})}
    reply = client.open(url, method=method, data=data.encode("utf-8", "surrogatepass") if data else None,
                        headers=headers)
    return _check(reply, f"{method} {url[:200]} as {role} with {data[:200] if data else None!r}")


def _as_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def test_every_field_and_parameter_takes_every_hostile_value(client, callers):
    document = client.get("/openapi.json").get_json()
    spec = Spec(document)
    failures: list[str] = []
    started = time.monotonic()
    for method, path, operation in _operations(document):
        query, in_path, body_schema = _parts(operation)
        role = _role(method, path)
        seed_path = {p["name"]: _as_text(spec.seed(p.get("schema"))) for p in in_path}
        for content_type, raw in HOSTILE_BODIES if body_schema else []:
            failures.append(_send(client, callers, method, path, role, seed_path, raw=raw,
                                  content_type=content_type))
        seed_body = spec.seed(body_schema) if body_schema else None
        fields = list(spec.resolve(body_schema).get("properties", {})) if body_schema else []
        for value in HOSTILE:
            if body_schema:
                failures.append(_send(client, callers, method, path, role, seed_path, body=value))
            for field in fields:
                failures.append(_send(client, callers, method, path, role, seed_path,
                                      body={**seed_body, field: value}))
            for parameter in query:
                failures.append(_send(client, callers, method, path, role, seed_path,
                                      query={parameter["name"]: _as_text(value)}, body=seed_body))
            for parameter in in_path:
                failures.append(_send(client, callers, method, path, role,
                                      {**seed_path, parameter["name"]: _as_text(value)}, body=seed_body))
    failures = [f for f in failures if f]
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
    assert time.monotonic() - started < 120  # bounded: a slow route would show here first


def _fuzzer(client, callers, spec: Spec, method: str, path: str, operation: dict):
    """A Hypothesis test of one operation: whole requests drawn from its schema."""
    query, in_path, body_schema = _parts(operation)

    @settings(max_examples=EXAMPLES_PER_ROUTE, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(role=st.sampled_from(_roles(method, path)),
           query=st.fixed_dictionaries({}, optional={p["name"]: spec.parameter_values(p.get("schema")) for p in query}),
           path_args=st.fixed_dictionaries({p["name"]: spec.parameter_values(p.get("schema")) for p in in_path}),
           body=spec.values(body_schema) if body_schema else st.none())
    def call(role, query, path_args, body):
        problem = _send(client, callers, method, path, role, path_args, query, body)
        assert problem is None, problem

    return call


def test_no_route_answers_hostile_input_with_a_5xx(client, callers):
    """Whole requests drawn from each operation's schema, hostile values anywhere (Hypothesis)."""
    document = client.get("/openapi.json").get_json()
    spec = Spec(document)
    failures: list[str] = []
    started = time.monotonic()
    for method, path, operation in _operations(document):
        try:
            _fuzzer(client, callers, spec, method, path, operation)()
        except AssertionError as exc:
            failures.append(str(exc).split("\n")[0])
    assert not failures, "\n".join(failures)
    assert time.monotonic() - started < 120
