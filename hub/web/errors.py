"""Error shapes for the whole app (docs/security.md, "Limits: bodies, ids, errors, OpenAPI").

- A 422 always has FastAPI's documented shape, ``{"detail": [{"loc": [...], "msg": "...",
  "type": "..."}]}`` (HTTPValidationError): a hand-written ``HTTPException(422, "text")`` is
  wrapped into it, the text kept in ``msg``.
- An integer outside the database's range (an id of 2^63 or 2^64 in a path or a query) cannot
  name anything, so it is a 404 (a 422 if the number came in a body), never a 500: SQLite
  raises ``OverflowError`` when binding it and PostgreSQL "integer out of range" (SQLSTATE
  22003); both are caught here for every route, API and console alike.
- The domain's refusals: an alert that does not exist is a 404, a change its state forbids a 409.
- The OpenAPI document declares the errors routes give — 401 and 403 on every bearer-token
  route, 404 where the path names something, 409 on state changes, 413 where a body is sent,
  422 where input is checked — with a shared schema (``Error`` / ``HTTPValidationError``).
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from telecare.alert.states import AlertNotFound, InvalidTransition

from .limits import is_console

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
_WORD = re.compile(r"""\s*['"]?([A-Za-z_][A-Za-z0-9_]*)""")


# -- 422: the documented list shape -------------------------------------------------------------------
def _body_fields(request: Request) -> set[str]:
    """Best effort: the JSON body's top-level field names for the matched route."""
    route = request.scope.get("route")
    names: set[str] = set()
    try:
        for param in route.dependant.body_params:
            names.add(param.alias or param.name)
            annotation = getattr(param.field_info, "annotation", None)
            for candidate in (annotation, *getattr(annotation, "__args__", ())):
                fields = getattr(candidate, "model_fields", None)
                if fields:
                    names.update(f.alias or n for n, f in fields.items())
    except Exception:  # noqa: BLE001 - only a hint for "loc"
        pass
    return names


def error_loc(request: Request, message: str) -> list[str]:
    """Where a hand-written 422 points: the query or path parameter its text starts with, else the body
    (with the field named, when the text starts with one), else the query."""
    m = _WORD.match(message or "")
    word = m.group(1) if m else None
    if word:
        if word in request.query_params:
            return ["query", word]
        if word in request.path_params:
            return ["path", word]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        return ["body", word] if word and word in _body_fields(request) else ["body"]
    return ["query"]


def validation_list(request: Request, message: str, type_: str = "value_error") -> list[dict]:
    return [{"loc": error_loc(request, message), "msg": message, "type": type_}]


async def _http_error(request: Request, exc: StarletteHTTPException):
    if exc.status_code == 422 and not isinstance(exc.detail, list):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(
            {"detail": validation_list(request, detail)}, status_code=422, headers=getattr(exc, "headers", None)
        )
    return await http_exception_handler(request, exc)


# -- integers outside the database's range ---------------------------------------------------------------
def is_out_of_range(exc: BaseException) -> bool:
    """True for a database driver's refusal of an integer too big for its column type."""
    if isinstance(exc, OverflowError):
        text = str(exc)
        return "int" in text.lower() and ("too large" in text or "too big" in text or "convert" in text)
    orig = getattr(exc, "orig", None)
    if orig is not None:
        if getattr(orig, "sqlstate", None) == "22003":  # numeric_value_out_of_range (PostgreSQL)
            return True
        if isinstance(orig, OverflowError):
            return is_out_of_range(orig)
    return False


def _big_number_in_url(request: Request) -> bool:
    values = [*request.path_params.values(), *request.query_params.values()]
    for value in values:
        text = str(value).strip()
        if re.fullmatch(r"[+-]?\d+", text) and abs(int(text)) > INT32_MAX:
            return True
    return False


def _not_found_page(request: Request, message: str):
    try:
        from .console.templating import render  # noqa: PLC0415 - the console is optional for this module

        return render(
            request, "console/error.html", {"status": 404, "heading": "Not found", "message": message}, status=404
        )
    except Exception:  # noqa: BLE001
        return HTMLResponse(
            f"<!doctype html><title>Not found</title><h1>Not found</h1><p>{message}</p>", status_code=404
        )


async def _out_of_range(request: Request, exc: Exception):
    if not is_out_of_range(exc):
        raise exc
    if _big_number_in_url(request):
        message = "nothing has that id: it is outside the range of ids"
        if is_console(request.url.path):
            return _not_found_page(request, message)
        return JSONResponse({"detail": message}, status_code=404)
    message = "a number in the request is outside the range the database can hold"
    return JSONResponse({"detail": [{"loc": ["body"], "msg": message, "type": "value_error"}]}, status_code=422)


# -- the domain's refusals ----------------------------------------------------------------------------------
async def _alert_not_found(request: Request, exc: AlertNotFound):
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def _conflict(request: Request, exc: InvalidTransition):
    return JSONResponse({"detail": str(exc)}, status_code=409)


def install(app: FastAPI) -> None:
    """The handlers above, and the error responses in the OpenAPI document."""
    from sqlalchemy.exc import DataError  # noqa: PLC0415 - PostgreSQL's "integer out of range" comes as this

    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(AlertNotFound, _alert_not_found)
    app.add_exception_handler(InvalidTransition, _conflict)
    declare_errors(app)


# -- OpenAPI: declared error responses --------------------------------------------------------------------
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"title": "Detail", "type": "string", "description": "what went wrong, for a person"}},
}
TOO_LARGE_SCHEMA = {
    "title": "TooLarge",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"title": "Detail", "type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}
    },
}
_DESCRIPTIONS = {
    401: "No token, or a token that is not valid, has expired or has been revoked",
    403: "The token's role (or, for a responder, its contact) may not do this",
    404: "Nothing by that id or name (ids outside the database's range too)",
    409: "Not possible in the current state",
    413: "Request body larger than this route accepts",
    422: "Validation Error",
    429: "Too many requests: slow down and retry after the time given",
}
# Declared beyond the general rules below: (method, path) -> extra status codes.
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/api/sandbox/reply"): (409, 422),
    ("post", "/api/checkins/{resident}/start"): (409,),
    ("post", "/api/callbacks/{callback_id}/done"): (409,),
    ("post", "/api/checkin-requests/{request_id}/{decision}"): (409,),
    ("put", "/api/site"): (422,),
    ("put", "/api/settings/{key}"): (422,),
}
_ALERT_CHANGE = re.compile(r"^/api/alerts/\{[^}]+\}/[a-z_]+$")


def codes_for(method: str, path: str, operation: dict) -> set[int]:
    codes: set[int] = set()
    if operation.get("security"):
        codes |= {401, 403}
    if "{" in path:
        codes.add(404)
    if method == "post" and _ALERT_CHANGE.match(path):
        codes.add(409)  # acknowledge / arrived / resolve / cancel from the wrong state
    if "requestBody" in operation or method in ("post", "put", "patch"):
        codes.add(413)
    codes.update(EXTRA.get((method, path), ()))
    return codes


def add_error_responses(schema: dict) -> dict:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", ERROR_SCHEMA)
    components.setdefault(
        "ValidationError",
        {
            "title": "ValidationError",
            "type": "object",
            "required": ["loc", "msg", "type"],
            "properties": {
                "loc": {
                    "title": "Location",
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                },
                "msg": {"title": "Message", "type": "string"},
                "type": {"title": "Error Type", "type": "string"},
            },
        },
    )
    components.setdefault(
        "HTTPValidationError",
        {
            "title": "HTTPValidationError",
            "type": "object",
            "properties": {
                "detail": {
                    "title": "Detail",
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/ValidationError"},
                }
            },
        },
    )
    components.setdefault("TooLarge", TOO_LARGE_SCHEMA)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in sorted(codes_for(method, path, operation)):
                if str(code) in responses:
                    continue
                ref = {413: "TooLarge", 422: "HTTPValidationError"}.get(code, "Error")
                responses[str(code)] = {
                    "description": _DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
                }
    health = schema.get("paths", {}).get("/api/health", {}).get("get")
    if health and "503" not in health.get("responses", {}) and "200" in health["responses"]:
        health["responses"]["503"] = {
            "description": 'Degraded: the database, broker or scheduler is not ok (the same body, status "degraded")',
            "content": health["responses"]["200"].get("content", {}),
        }
    return schema


def declare_errors(app: FastAPI) -> None:
    original = app.openapi
    done: set[int] = set()  # FastAPI caches the document; add the errors once per document it builds

    def openapi() -> dict:
        schema = original()
        if id(schema) not in done:
            add_error_responses(schema)
            done.add(id(schema))
        return schema

    app.openapi = openapi
