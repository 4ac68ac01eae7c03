"""The ASGI application: Open311 GeoReport v2 under ``/open311/v2/`` and the JSON
API under ``/api/v1/`` (OpenAPI 3.1 at ``/api/v1/openapi.json``), on Litestar.

Handlers are synchronous (the library is) and run in Litestar's thread pool;
each worker thread uses its own ``PetitionService`` on the configured store
(:class:`~petitions.http.common.Backend`).
"""

from __future__ import annotations

import functools
import inspect
import os
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from uuid import UUID

import attrs
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.params import KwargDefinition, Parameter
from litestar.plugins.attrs import AttrsSchemaPlugin
from litestar.typing import FieldDefinition

from petitions.domain.values import Location, Petitioner
from petitions.errors import InvalidInput, PetitionError
from petitions.http import open311
from petitions.http.commands import CommandSpec, command_specs, field_help
from petitions.http.common import Backend, language, parse_time, resolve
from petitions.http.keys import ApiKey, KeyRefused
from petitions.i18n import error_text
from petitions.logs import get_logger

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

log = get_logger("petitions.http")
PROBLEM = "application/problem+json"
_STATUS = {"not_found": 404, "invalid_input": 422, "permission_denied": 403,
           "transition_not_allowed": 409, "concurrent_update": 409,
           "workflow_not_found": 422, "repeat_filing": 409, "key_refused": 401,
           "missing_dependency": 503}
MAX_LIST = 500
#: Requests handled at once by one server process (worker threads).
DEFAULT_THREADS = 8
#: The largest position, version or offset a database stores (64-bit).
MAX_INT = 2**63 - 1


@attrs.frozen
class Problem:
    """An RFC 9457 problem: ``kind`` is the library's error code (``PetitionError.code``),
    ``field`` the field an ``InvalidInput`` names, ``params`` the values of its message."""

    type: str
    title: str
    status: int
    detail: str
    kind: str
    field: str | None = None
    params: dict[str, Any] | None = None


def _problems(*statuses: int) -> dict[int, ResponseSpec]:
    words = {400: "Bad request (a missing or malformed value)",
             401: "No API key, or an unknown one", 403: "A revoked key, or the key's role "
             "may not do this", 404: "No such petition", 409: "Not allowed in the "
             "petition's stage, or changed meanwhile", 412: "If-Match: the petition's "
             "version is no longer the one given", 422: "A value the library refuses"}
    return {s: ResponseSpec(data_container=Problem, media_type=PROBLEM,
                            description=words[s]) for s in statuses}


READ_PROBLEMS = _problems(400, 401, 403, 404, 422)
WRITE_PROBLEMS = _problems(400, 401, 403, 404, 409, 412, 422)
F = TypeVar("F", bound=Callable[..., Any])


def threaded(fn: F) -> F:
    """An async handler running the synchronous ``fn`` in a worker thread, with
    ``fn``'s signature (so Litestar reads its parameters and OpenAPI from it)."""
    from anyio import to_thread

    async def handler(*args: Any, **kwargs: Any) -> Any:
        return await to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    handler.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    handler.__annotations__ = typing.get_type_hints(fn, include_extras=True)
    handler.__name__ = fn.__name__
    handler.__qualname__ = fn.__qualname__
    handler.__doc__ = fn.__doc__
    handler.__module__ = fn.__module__
    return handler  # type: ignore[return-value]


def _backend(request: Request[Any, Any, Any]) -> Backend:
    found: Backend = request.app.state.backend
    return found


# ------------------------------------------------------------------- problems
def problem(status: int, title: str, detail: str, kind: str,
            field: str | None = None, **extra: Any) -> Response[dict[str, Any]]:
    """An RFC 9457 problem: ``kind`` is the library's error code, ``field`` the
    field it names (``InvalidInput``)."""
    body: dict[str, Any] = {"type": f"urn:petitions:problem:{kind}", "title": title,
                            "status": status, "detail": detail, "kind": kind}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM)


def _lang(request: Request[Any, Any, Any]) -> str:
    return language(request.query_params.get("locale"),
                    request.headers.get("accept-language"))


def on_petition_error(request: Request[Any, Any, Any],
                      exc: PetitionError) -> Response[Any]:
    if request.url.path.startswith("/open311/"):
        return _open311_error(request, open311.from_library(exc))
    status = _STATUS.get(exc.code, 400)
    if isinstance(exc, KeyRefused) and exc.reason == "revoked":
        status = 403
    if exc.code == "concurrent_update" and request.headers.get("if-match"):
        status = 412
    params = {k: v for k, v in exc.params.items()
              if k not in ("field",) and isinstance(v, str | int | bool)}
    return problem(status, type(exc).__name__, error_text(exc, _lang(request)), exc.code,
                   getattr(exc, "field", None), params=params)


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if request.url.path.startswith("/open311/"):
        status = 400 if exc.status_code in (400, 422) else exc.status_code
        return _open311_error(request, open311.Open311Error(status, str(exc.detail)))
    extra: dict[str, Any] = {}
    field = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, Mapping):
            field = str(first.get("key") or "") or None
            extra["errors"] = [{k: str(v) for k, v in e.items()} for e in exc.extra
                               if isinstance(e, Mapping)]
    kind = "invalid_input" if exc.status_code in (400, 422) else "http_error"
    return problem(exc.status_code, type(exc).__name__, str(exc.detail), kind, field, **extra)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else is a fault of the server: logged with its traceback; the
    client gets a 500 in the face's error format, without internals."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    if request.url.path.startswith("/open311/"):
        return _open311_error(request, open311.Open311Error(500, "internal error"))
    return problem(500, "Internal Server Error", "the server failed; see its log",
                   "internal_error")


def on_open311_error(request: Request[Any, Any, Any],
                     exc: open311.Open311Error) -> Response[Any]:
    return _open311_error(request, exc)


def _open311_error(request: Request[Any, Any, Any],
                   exc: open311.Open311Error) -> Response[Any]:
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    body, media = open311.render(fmt, "errors", exc.payload())
    return Response(body, status_code=exc.status, media_type=media)


# ----------------------------------------------------------------- Open311
def _o311_key(request: Request[Any, Any, Any], given: str | None,
              required: bool) -> ApiKey | None:
    """The key of an Open311 call: required to write; optional to read, but a
    key that is given must be valid (403 otherwise, reads included)."""
    if not given and not required:
        return None
    try:
        return _backend(request).key(given)
    except KeyRefused as exc:
        raise open311.Open311Error(403, f"api_key {exc.reason}") from None


def _answer(fmt: str, root: str, payload: Any, status: int = 200) -> Response[bytes]:
    body, media = open311.render(fmt, root, payload)
    return Response(body, status_code=status, media_type=media)


@get("/open311/v2/{resource:str}", include_in_schema=False)
async def open311_get(request: Request[Any, Any, Any], resource: str) -> Response[bytes]:
    from anyio import to_thread

    return await to_thread.run_sync(_open311_get, request, resource)


def _open311_get(request: Request[Any, Any, Any], resource: str) -> Response[bytes]:
    name, fmt = open311.split_format(resource)
    params = {k: v for k, v in request.query_params.items()}
    _o311_key(request, params.get("api_key"), required=False)
    lang = _lang(request)
    if name == "discovery":
        base = str(request.base_url).rstrip("/") + "/open311/v2"
        return _answer(fmt, "discovery", open311.discovery(base))
    if name == "services":
        return _answer(fmt, "services", open311.services(lang))
    svc = _backend(request).service()
    if name == "requests":
        return _answer(fmt, "service_requests", open311.get_requests(svc, params, lang))
    if name == "servicerequestupdates":
        return _answer(fmt, "service_request_updates",
                       open311.request_updates(svc, params, lang))
    raise open311.Open311Error(404, f"unknown resource {resource!r}")


@get("/open311/v2/{kind:str}/{ident:str}", include_in_schema=False)
@threaded
def open311_get_one(request: Request[Any, Any, Any], kind: str,
                    ident: str) -> Response[bytes]:
    ident, fmt = open311.split_format(ident)
    params = dict(request.query_params.items())
    _o311_key(request, params.get("api_key"), required=False)
    lang = _lang(request)
    svc = _backend(request).service()
    if kind == "services":
        return _answer(fmt, "service_definition", open311.service_definition(svc, ident, lang))
    if kind == "requests":
        extensions = params.get("extensions", "").lower() == "true"
        return _answer(fmt, "service_requests",
                       open311.get_request(svc, ident, lang, extensions))
    raise open311.Open311Error(404, f"unknown resource {kind!r}")


@post("/open311/v2/{resource:str}", include_in_schema=False, status_code=201)
async def open311_post(request: Request[Any, Any, Any], resource: str) -> Response[bytes]:
    name, fmt = open311.split_format(resource)
    if name != "requests":
        raise open311.Open311Error(404, f"unknown resource {resource!r}")
    form = await request.form()
    fields: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, []).append(value)
    if not fields:  # also accept the fields in the query string
        for key, value in request.query_params.multi_items():
            fields.setdefault(key, []).append(value)
    given = (fields.get("api_key") or [""])[-1]
    lang = _lang(request)

    def work() -> list[dict[str, Any]]:
        key = _o311_key(request, given, required=True)
        assert key is not None
        return open311.post_request(_backend(request).service(), key, fields, lang)

    from anyio import to_thread

    payload = await to_thread.run_sync(work)
    return _answer(fmt, "service_requests", payload, status=201)


# ------------------------------------------------------------------ JSON API
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _api_key(request: Request[Any, Any, Any]) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise KeyRefused("missing")
    return _backend(request).key(token.strip())


def _expected(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().strip('"').removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidInput("If-Match", "must be the petition's version (a whole number)",
                           kind="bad_version")
    return int(text)


def _at(text: str | None) -> datetime | None:
    return parse_time("at", text) if text else None


def _view(view: Any) -> Response[dict[str, Any]]:
    return Response(view.to_dict(), headers={"ETag": f'"{view.version}"'})


@attrs.frozen
class Filing:
    """A new petition: what ``PetitionService.file`` takes."""

    title: str
    description: str
    category: str
    channel: str
    petitioner: Petitioner
    location: Location | None = None
    workflow: str = "standard"
    #: default: what ``type`` implies (a report 检举控告, a suggestion 建议意见, else claim)
    matter_type: str | None = None
    campaign_id: UUID | None = None
    at: datetime | None = None
    #: the request type (consultation, help, complaint, report, suggestion,
    #: praise; default: the workflow's, a complaint) and urgency
    type: str | None = None
    urgency: str = "normal"
    #: filed without name, phone, ID number or address (the petitioner object
    #: then gives only its ``kind``)
    anonymous: bool = False


@post("/api/v1/petitions", security=BEARER, tags=["petitions"], responses=WRITE_PROBLEMS,
      operation_id="file", summary="File a petition", status_code=201)
@threaded
def api_file(request: Request[Any, Any, Any], data: Filing,
             idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key",
                                                              max_length=200)] = None,
             ) -> Response[dict[str, Any]]:
    """File a petition; with an ``Idempotency-Key`` header, filing again returns the
    same petition and writes nothing new."""
    key = _api_key(request)
    svc = _backend(request).service()
    if not isinstance(data.petitioner, Petitioner):
        raise InvalidInput("petitioner", "must be an object")
    pid = svc.file(actor=key.actor, petitioner=data.petitioner, title=data.title,
                   description=data.description, category=data.category,
                   channel=data.channel, location=data.location, workflow=data.workflow,
                   matter_type=data.matter_type, campaign_id=data.campaign_id,
                   idempotency_key=idempotency_key or None, at=data.at,
                   request_type=data.type, urgency=data.urgency, anonymous=data.anonymous)
    view = svc.get(pid, viewer=key.actor, unit=key.unit or None)
    response = _view(view)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/petitions/{pid}"
    return response


def _command_route(spec: CommandSpec) -> HTTPRouteHandler:
    def handler(request: Request[Any, Any, Any], petition_id: str, data: Any,
                at: str | None = None, if_match: str | None = None) -> Response[Any]:
        key = _api_key(request)
        svc = _backend(request).service()
        pid = resolve(svc, petition_id)
        view = spec.run(svc, pid, data, key.actor, _at(at), _expected(if_match))
        return _view(view)

    handler.__annotations__ = {
        "request": Request[Any, Any, Any], "petition_id": str, "data": spec.body,
        "at": Annotated[str | None, Parameter(query="at", required=False,
                                              description="When it happened (ISO 8601)")],
        "if_match": Annotated[str | None, Parameter(header="If-Match", required=False)],
        "return": Response[dict[str, Any]],
    }
    handler.__name__ = f"command_{spec.name}"
    handler.__doc__ = spec.help
    return post(f"/api/v1/petitions/{{petition_id:str}}/{spec.name}",
                security=BEARER, tags=["commands"], operation_id=spec.name,
                responses=WRITE_PROBLEMS,
                summary=spec.help, status_code=200)(threaded(handler))


@get("/api/v1/petitions/{petition_id:str}", security=BEARER,
     tags=["petitions"], operation_id="get_petition", responses=READ_PROBLEMS)
@threaded
def api_get(request: Request[Any, Any, Any], petition_id: str,
            version: Annotated[int | None, Parameter(ge=1, le=MAX_INT)] = None,
            as_of: str | None = None) -> Response[dict[str, Any]]:
    """The petition as it stands, or stood at ``version`` or ``as_of`` (a time)."""
    key = _api_key(request)
    svc = _backend(request).service()
    when = parse_time("as_of", as_of) if as_of else None
    return _view(svc.get(resolve(svc, petition_id), version=version, as_of=when,
                         viewer=key.actor, unit=key.unit or None))


@get("/api/v1/petitions/{petition_id:str}/history", security=BEARER,
     tags=["petitions"], operation_id="history", responses=READ_PROBLEMS)
@threaded
def api_history(request: Request[Any, Any, Any],
                petition_id: str) -> Response[list[dict[str, Any]]]:
    """Every event of the petition: who did what, when, and what it changed."""
    key = _api_key(request)
    svc = _backend(request).service()
    events = svc.history(resolve(svc, petition_id), viewer=key.actor, unit=key.unit or None)
    return Response([e.to_dict() for e in events])


@get("/api/v1/petitions", security=BEARER, tags=["petitions"],
     operation_id="list_petitions", responses=READ_PROBLEMS)
@threaded
def api_list(request: Request[Any, Any, Any], status: str | None = None,
             stage: str | None = None, workflow: str | None = None,
             street: str | None = None, community: str | None = None,
             grid: str | None = None, unit: str | None = None,
             assignee: str | None = None, mediator: str | None = None,
             category: str | None = None, channel: str | None = None,
             campaign: str | None = None, outcome: str | None = None,
             kind: str | None = None, text: str | None = None,
             overdue: bool = False,
             limit: Annotated[int, Parameter(ge=1, le=MAX_LIST)] = 50,
             offset: Annotated[int, Parameter(ge=0, le=MAX_INT)] = 0,
             ) -> Response[list[dict[str, Any]]]:
    """Petitions from the case index, newest first (a queue), with the list filters;
    with ``text``, the most recently recorded matches first."""
    _api_key(request)
    svc = _backend(request).service()
    filters: dict[str, str | None] = {k: v for k, v in dict(
        status=status, stage=stage, workflow=workflow, street=street, community=community,
        grid=grid, unit=unit, assignee=assignee, mediator=mediator, category=category,
        channel=channel, campaign=campaign, outcome=outcome, kind=kind).items() if v}
    cases = svc.list_petitions(text=text, limit=limit, offset=offset, overdue=overdue,
                               due_within=None, **filters)
    return Response([c.to_dict() for c in cases])


@get("/api/v1/changes", security=BEARER, tags=["feed"],
     operation_id="changes", responses=READ_PROBLEMS)
@threaded
def api_changes(request: Request[Any, Any, Any],
                after: Annotated[int, Parameter(ge=0, le=MAX_INT)] = 0,
                limit: Annotated[int, Parameter(ge=1, le=MAX_LIST)] = MAX_LIST,
                ) -> Response[list[dict[str, Any]]]:
    """Petition events after feed position ``after``, in order (resume with the
    last ``position`` seen)."""
    _api_key(request)
    svc = _backend(request).service()
    out = []
    for change in svc.changes(after=after):
        out.append(change.to_dict())
        if len(out) >= limit:
            break
    return Response(out)


class HelpedAttrsSchemaPlugin(AttrsSchemaPlugin):
    """Litestar's attrs schema plugin, with each field's help (the command table's
    field metadata, in English) as its property's ``description``."""

    def to_openapi_schema(self, field_definition: FieldDefinition,
                          schema_creator: SchemaCreator) -> Schema:
        helps = field_help(field_definition.type_)
        if not helps:
            return super().to_openapi_schema(field_definition, schema_creator)
        hints = field_definition.get_type_hints(include_extras=True, resolve_generics=True)
        fields = attrs.fields_dict(field_definition.type_)
        return schema_creator.create_component_schema(
            field_definition,
            required=sorted(name for name, a in fields.items() if a.default is attrs.NOTHING),
            property_fields={
                name: FieldDefinition.from_kwarg(
                    hints[name], name,
                    kwarg_definition=(KwargDefinition(description=helps[name])
                                      if name in helps else None))
                for name in fields})
# ------------------------------------------------------------------ dashboard
# An HTML page for people, not part of the JSON API's OpenAPI document.
@get("/dashboard", media_type="text/html", include_in_schema=False)
@threaded
def dashboard(request: Request[Any, Any, Any], by: str = "street",
              date_from: Annotated[str | None, Parameter(query="from")] = None,
              date_to: Annotated[str | None, Parameter(query="to")] = None,
              api_key: str | None = None) -> Response[str]:
    """The report of ``petitions report``, live: the three rates by ``by``, monthly
    trends, backlog, overdue work, hot spots, the unit ranking (local days
    ``from`` … ``to``, ``YYYY-MM-DD``).  Staff keys only (``[read] dashboard`` of
    the operations policy), as a Bearer token or ``api_key``; read-only."""
    from petitions.operations import operations_policy
    from petitions.reports import build_report, render_html

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    given = token.strip() if scheme.lower() == "bearer" and token.strip() else api_key
    if not given:
        raise KeyRefused("missing")
    key = _backend(request).key(given)
    operations_policy().check_read(key.role, "dashboard")
    svc = _backend(request).service()
    lang = _lang(request)
    data = build_report(svc, by, date_from=date_from or None, date_to=date_to or None,
                        lang=lang)
    return Response(render_html(data, lang), media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


def route_handlers() -> list[Any]:
    commands = [_command_route(spec) for spec in command_specs().values()]
    return [open311_get, open311_get_one, open311_post, api_list, api_file, api_get,
            api_history, api_changes, dashboard, *commands]


def create_app(url: str | None = None, *,
               backend: Backend | None = None,
               on_shutdown: Callable[[], None] | None = None) -> Litestar:
    """The ASGI application on the store at ``url`` (default ``PETITIONS_DB``),
    handling up to ``PETITIONS_HTTP_THREADS`` (default 8) requests at once."""
    backend = backend or Backend(url)
    threads = int(os.environ.get("PETITIONS_HTTP_THREADS") or DEFAULT_THREADS)

    async def startup() -> None:
        from anyio import to_thread

        # Worker threads: each keeps a service (and its connections) on the store.
        to_thread.current_default_thread_limiter().total_tokens = threads
        await to_thread.run_sync(backend.prepare)

    def shutdown() -> None:
        backend.close()
        if on_shutdown is not None:
            on_shutdown()

    return Litestar(
        route_handlers=route_handlers(),
        state=State({"backend": backend}),
        exception_handlers={PetitionError: on_petition_error,
                            open311.Open311Error: on_open311_error,
                            HTTPException: on_http_error, Exception: on_unexpected},
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_config=OpenAPIConfig(
            title="petitions JSON API", version="1", path="/api/v1",
            description="Portals file and handle petitions (诉求); one route per command "
                        "of the command table.  Errors are RFC 9457 problems.",
            components=Components(security_schemes={"bearer": SecurityScheme(
                type="http", scheme="bearer", description="petitions api-key create")}),
        ),
        plugins=[HelpedAttrsSchemaPlugin()],
        debug=bool(os.environ.get("PETITIONS_HTTP_DEBUG")),
    )


def app_from_env() -> Litestar:
    """The application on ``PETITIONS_DB`` (what ``petitions serve`` runs)."""
    return create_app(os.environ.get("PETITIONS_DB") or None)
