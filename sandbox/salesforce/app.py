"""The Salesforce sandbox as a WSGI app: real Salesforce paths, headers, statuses and bodies.

Served endpoints (all as on a real instance; ``vXX.X`` is any supported API version):

* ``POST /services/oauth2/token`` (``authorization_code`` with PKCE, ``refresh_token``,
  ``client_credentials``, ``urn:ietf:params:oauth:grant-type:jwt-bearer``, ``password``),
  ``GET /services/oauth2/authorize`` (auto-approves, redirects with ``code`` and ``state``),
  ``POST /services/Soap/u/XX.X`` (partner ``login``, used by simple-salesforce for
  username + password + security token; not from API 65.0 on), ``GET /id/<org>/<user>``
  (identity). The flows and their errors: ``sandbox.salesforce.auth``; which host a request
  was sent to (a login host or the org's My Domain, told apart by ``Host``):
  ``sandbox.salesforce.domains``; client apps and org switches: ``sandbox.salesforce.access``.
* ``GET /services/data/`` (every version from 31.0 to the current 68.0, unauthenticated:
  ``sandbox.salesforce.versions``), and under ``/services/data/vXX.X/``: ``sobjects`` (global
  describe), ``sobjects/Obj`` (GET metadata, POST create), ``sobjects/Obj/describe``,
  ``sobjects/Obj/Id`` (GET with ``?fields=``, PATCH, DELETE), ``query`` / ``queryAll``
  (SOQL subset, paged like Salesforce: ``done: false`` and a ``nextRecordsUrl``
  ``query/01g…-<offset>`` after ``batchSize`` records, 2000 unless the ``Sforce-Query-Options``
  header asks for 200–2000), ``composite``, ``limits``. An unlisted version answers 404
  ``NOT_FOUND`` (a retired one, 7.0–30.0, 410).
* Operator endpoints (never faulted, not part of the Salesforce API) under
  ``/_sandbox/salesforce/``: ``custom-fields`` (GET; POST deploy; DELETE or POST ``.../remove``),
  ``duplicate-rules`` (GET/POST), ``assignment-rules`` (GET/POST), ``revoke-refresh-tokens``
  (POST), ``api-usage`` (GET/POST ``{"used", "max"}``), ``credentials`` (GET),
  ``query-batch-size`` (POST ``{"size": n}``: pages of n records, below Salesforce's 200
  minimum too, so tests page through a few records), ``object-permissions`` (POST
  ``{"object": "Lead", "create": false}``: the API user's profile loses "Create" on it),
  ``apps`` (GET, POST) and ``apps/<consumer key>`` (GET, POST/PATCH, DELETE) for connected and
  External Client Apps, ``apps/<consumer key>/certificate`` (POST/PUT a PEM, DELETE),
  ``org-settings`` (GET, POST/PATCH: ``soap_login_enabled``, ``username_password_flows``,
  ``loopback_host``). The shared ones (faults, reset, expire-tokens, state, health) come from
  ``sandbox.common.app``; the state and the ``/_sandbox/`` page show client apps with their
  secret masked, and ``LoginHistory``.

Transport: the sandbox speaks plain HTTP on loopback. That is the documented choice (SPEC §6
allows ``http://`` login and instance URLs for development and tests); the ``instance_url`` it
answers is its own base URL as the client addressed it (Host header), so a client that logs in
through it is pointed back at it — or ``https://<my domain>`` when the client addressed it by a
Salesforce host name (``sandbox.salesforce.domains``). simple-salesforce hard-codes ``https://``
when it builds REST URLs from an instance, so the connector (and our tests) give it a
``requests.Session`` with a transport adapter that sends ``https://<loopback host:port>`` (or
``https://login.salesforce.com`` …) requests over plain HTTP; the library itself is used
unmodified (see ``tests/sandbox/test_salesforce_client.py`` and
``tests/sandbox/test_salesforce_auth_flows.py``).
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Request, Response

from sandbox.common.app import SandboxApp, json_response
from sandbox.common.faults import FaultConfig, FaultDecision, FaultInjector
from sandbox.common.store import Store
from sandbox.salesforce import access, composite, domains, ids, versions
from sandbox.salesforce.access import Access
from sandbox.salesforce.auth import Auth, OAuthError
from sandbox.salesforce.errors import (
    LIMIT_EXCEEDED,
    NOT_FOUND_MESSAGE,
    SESSION_INVALID,
    ApiError,
    bad_request,
)
from sandbox.salesforce.org import (
    ASSIGNMENT_RULES,
    CUSTOM_FIELDS,
    DUPLICATE_RULES,
    ORG_ID,
    Org,
    OrgConfig,
    WriteContext,
)
from sandbox.salesforce.schema import STANDARD_OBJECTS
from sandbox.salesforce.soql import Executor

DATA = "/services/data/v<version>"


class ApiUsage:
    """The org's rolling daily API request count (a plain counter in the sandbox)."""

    def __init__(self, maximum: int) -> None:
        self._lock = threading.Lock()
        self.initial_max = maximum
        self.max = maximum
        self.used = 0

    def consume(self) -> bool:
        """Count one request; False (not counted) when the daily allocation is used up."""
        with self._lock:
            if self.used >= self.max:
                return False
            self.used += 1
            return True

    def set(self, used: int | None = None, maximum: int | None = None) -> None:
        with self._lock:
            if maximum is not None:
                self.max = int(maximum)
            if used is not None:
                self.used = max(0, int(used))

    def reset(self) -> None:
        self.set(0, self.initial_max)

    def header(self) -> str:
        return f"api-usage={self.used}/{self.max}"


def error_response(error: ApiError) -> Response:
    response = json_response(error.errors, status=error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Token"
    return response


def read_json(request: Request) -> Any:
    text = request.get_data(as_text=True)
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise bad_request("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


def _wsgi_str(text: str) -> str:
    """PEP 3333 "native string": UTF-8 bytes seen as latin-1 (Werkzeug's encoding dance)."""
    return text.encode().decode("latin1")


def subrequest_environ(
    base_url: str, method: str, url: str, headers: dict[str, Any], data: str | None
) -> dict[str, Any]:
    """The WSGI environ of a composite subrequest.

    The same dict ``werkzeug.test.EnvironBuilder(path=url, method=method, base_url=base_url,
    headers=headers, data=data, content_type="application/json").get_environ()`` builds (a
    unit test compares them), without its ~0.1 ms of generic machinery per subrequest.
    """
    scheme, host, script_root, _, _ = urlsplit(iri_to_uri(base_url))
    parts = urlsplit(url)
    server_name, port_sep, port = host.partition(":")
    server_port = int(port) if port_sep and port.isdigit() else (443 if scheme == "https" else 80)
    body = data.encode() if data else None
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": _wsgi_str(unquote(script_root.rstrip("/"))),
        "PATH_INFO": _wsgi_str(unquote(iri_to_uri(parts.path))),
        "QUERY_STRING": _wsgi_str(parts.query if "?" in url else ""),
        "REQUEST_URI": _wsgi_str(url),
        "RAW_URI": _wsgi_str(url),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "HTTP_HOST": host,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_TYPE": "application/json",
    }
    if body is not None:
        environ["CONTENT_LENGTH"] = str(len(body))
    combined: dict[str, list[str]] = {}
    for name, value in headers.items():
        text = value if isinstance(value, str) else str(value)
        if "\n" in text or "\r" in text:
            raise ValueError("Header values must not contain newline characters.")
        if name.lower() in ("content-type", "content-length"):
            continue  # part of the environ, not headers
        combined.setdefault(f"HTTP_{name.upper().replace('-', '_')}", []).append(text)
    for key, values in combined.items():
        environ[key] = ", ".join(values)
    return environ


def parse_auto_assign(value: str | None) -> bool:
    """``Sforce-Auto-Assign``: absent or TRUE (or a rule id) runs the rules, FALSE does not."""
    return value is None or value.strip().lower() != "false"


def parse_duplicate_header(value: str | None) -> bool:
    """``Sforce-Duplicate-Rule-Header: allowSave=true; ...`` → allowSave."""
    for part in (value or "").split(";"):
        key, _, flag = part.partition("=")
        if key.strip().lower() == "allowsave":
            return flag.strip().lower() == "true"
    return False


class SalesforceSandbox(SandboxApp):
    """SandboxApp with Salesforce's error bodies, limit header and operator endpoints."""

    def __init__(
        self, store: Store, faults: FaultInjector, org: Org, auth: Auth, usage: ApiUsage, access: Access
    ) -> None:
        self.org = org
        self.auth = auth
        self.usage = usage
        self.access = access
        self.cursors = QueryCursors()
        api = RestApi(self)
        super().__init__("salesforce", store, faults, api.routes(), api.handlers())

    # -------------------------------------------------------------- CRM hooks
    def render_throttle(self, decision: FaultDecision) -> Response:
        return json_response(LIMIT_EXCEEDED, status=403)

    def render_error(self, decision: FaultDecision) -> Response:
        if decision.kind == "slow_then_fail":
            return json_response(
                [
                    {
                        "message": "An unexpected error occurred. Please include this ErrorId if you "
                        "contact support: 1468391711-52810 (-1370339540)",
                        "errorCode": "UNKNOWN_EXCEPTION",
                    }
                ],
                status=500,
            )
        return json_response(
            [
                {
                    "message": "Server temporarily unavailable, please try again later.",
                    "errorCode": "SERVER_UNAVAILABLE",
                }
            ],
            status=503,
        )

    def render_http_exception(self, request: Request, exc: HTTPException) -> Response:
        if exc.code == 405:
            allowed = exc.valid_methods if hasattr(exc, "valid_methods") else []
            return json_response(
                [
                    {
                        "message": f"HTTP Method '{request.method}' not allowed. Allowed are "
                        f"{','.join(allowed or [])}",
                        "errorCode": "METHOD_NOT_ALLOWED",
                    }
                ],
                status=405,
            )
        if exc.code == 404:
            return json_response([{"errorCode": "NOT_FOUND", "message": NOT_FOUND_MESSAGE}], status=404)
        return json_response(
            [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}],
            status=exc.code or 500,
        )

    def add_headers(self, request: Request, response: Response) -> None:
        if request.path.startswith("/services/data/v"):
            response.headers["Sforce-Limit-Info"] = self.usage.header()

    def expire_all_tokens(self) -> None:
        self.auth.expire_access_tokens()

    def on_reset(self) -> None:
        self.usage.reset()
        self.cursors.reset()

    def inspection_snapshot(self) -> dict[str, list[dict]]:
        """The store's collections, client apps with their secret masked (``access.public_app``)."""
        snapshot = self.store.snapshot()
        if access.APPS in snapshot:
            snapshot[access.APPS] = [access.public_app(app) for app in snapshot[access.APPS]]
        return snapshot

    # ------------------------------------------------------ operator endpoints
    def operator(self, request: Request) -> Response:
        prefix = "/_sandbox/salesforce/"
        if not request.path.startswith(prefix):
            return super().operator(request)
        action = request.path[len(prefix) :].strip("/")
        if action == "apps" or action.startswith("apps/"):
            return self._op_apps(request, action.split("/")[1:])
        handler = {
            ("custom-fields", "GET"): self._op_list_fields,
            ("custom-fields", "POST"): self._op_deploy_fields,
            ("custom-fields", "DELETE"): self._op_remove_fields,
            ("custom-fields/remove", "POST"): self._op_remove_fields,
            ("duplicate-rules", "GET"): self._op_duplicate_rules,
            ("duplicate-rules", "POST"): self._op_duplicate_rules,
            ("assignment-rules", "GET"): self._op_assignment_rules,
            ("assignment-rules", "POST"): self._op_assignment_rules,
            ("revoke-refresh-tokens", "POST"): self._op_revoke,
            ("api-usage", "GET"): self._op_api_usage,
            ("api-usage", "POST"): self._op_api_usage,
            ("credentials", "GET"): self._op_credentials,
            ("query-batch-size", "POST"): self._op_query_batch_size,
            ("object-permissions", "POST"): self._op_object_permissions,
            ("org-settings", "GET"): self._op_org_settings,
            ("org-settings", "POST"): self._op_org_settings,
            ("org-settings", "PATCH"): self._op_org_settings,
        }.get((action, request.method))
        if handler is None:
            return json_response({"error": "not found"}, status=404)
        try:
            return handler(request)
        except (ValueError, TypeError, KeyError) as exc:
            return json_response({"error": str(exc)}, status=400)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError as exc:
            raise ValueError(f"the body is not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    def _op_org_settings(self, request: Request) -> Response:
        """GET, or POST/PATCH ``{"soap_login_enabled": false, "username_password_flows": false,
        "loopback_host": "my_domain" | "login" | "test"}`` (``sandbox.salesforce.access``)."""
        if request.method != "GET":
            self.access.change_settings(self._body(request))
        return json_response({**self.access.settings(), "my_domain": self.org.config.my_domain})

    def _op_apps(self, request: Request, parts: list[str]) -> Response:
        """Client apps: ``apps`` (GET list, POST create), ``apps/<key>`` (GET; POST or PATCH to
        configure; DELETE), ``apps/<key>/certificate`` (POST or PUT a PEM certificate, as the body
        or ``{"certificate": pem}``; DELETE). Secrets are shown only in the answer that set them."""
        method = request.method
        try:
            if not parts and method == "GET":
                return json_response([access.public_app(app) for app in self.access.apps()])
            if not parts and method == "POST":
                return json_response(self.access.create_app(self._body(request)), status=201)
            if len(parts) == 1 and method == "GET":
                app = self.access.app(parts[0])
                if app is None:
                    raise LookupError(f"no app with consumer key {parts[0]!r}")
                return json_response(access.public_app(app))
            if len(parts) == 1 and method in ("POST", "PATCH"):
                changes = self._body(request)
                updated = self.access.configure_app(parts[0], changes)
                return json_response(updated if "consumer_secret" in changes else access.public_app(updated))
            if len(parts) == 1 and method == "DELETE":
                self.access.delete_app(parts[0])
                return json_response({"deleted": parts[0]})
            if parts[1:] == ["certificate"] and method in ("POST", "PUT", "DELETE"):
                pem = None if method == "DELETE" else self._pem(request)
                return json_response(access.public_app(self.access.set_certificate(parts[0], pem)))
        except LookupError as exc:
            return json_response({"error": str(exc.args[0])}, status=404)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response({"error": "not found"}, status=404)

    @staticmethod
    def _pem(request: Request) -> str:
        text = request.get_data(as_text=True)
        if request.mimetype == "application/json":
            data = SalesforceSandbox._body(request)
            text = data.get("certificate")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("send the certificate as PEM text, or as {\"certificate\": \"<PEM>\"}")
        return text

    def _op_object_permissions(self, request: Request) -> Response:
        data = self._body(request)
        return json_response(self.org.set_create_permission(str(data["object"]), bool(data["create"])))

    def _op_query_batch_size(self, request: Request) -> Response:
        size = int(self._body(request)["size"])
        if size < 1:
            raise ValueError("size must be at least 1")
        self.cursors.default_size = size
        return json_response({"size": size})

    def _op_list_fields(self, request: Request) -> Response:
        return json_response(self.store.all(CUSTOM_FIELDS))

    def _op_deploy_fields(self, request: Request) -> Response:
        data = self._body(request)
        deployed = self.org.deploy_fields(str(data["object"]), list(data.get("fields") or []))
        return json_response({"deployed": deployed, "object": data["object"]})

    def _op_remove_fields(self, request: Request) -> Response:
        data = self._body(request) if request.get_data() else {}
        object_name = data.get("object") or request.args.get("object", "")
        names = data.get("fields") or request.args.getlist("field")
        names = [n["name"] if isinstance(n, dict) else str(n) for n in names]
        removed = self.org.remove_fields(str(object_name), names)
        return json_response({"removed": removed, "object": object_name})

    def _op_duplicate_rules(self, request: Request) -> Response:
        if request.method == "POST":
            self.org.set_duplicate_rules(self._body(request))
        return json_response({r["object"]: r for r in self.store.all(DUPLICATE_RULES)})

    def _op_assignment_rules(self, request: Request) -> Response:
        if request.method == "POST":
            data = self._body(request)
            for name in [data["object"]] if "object" in data else ["Lead", "Case"]:
                self.org.set_assignment_rule(name, bool(data.get("active", True)), data.get("owner"))
        return json_response({r["object"]: r for r in self.store.all(ASSIGNMENT_RULES)})

    def _op_revoke(self, request: Request) -> Response:
        return json_response({"revoked": self.auth.revoke_refresh_tokens()})

    def _op_api_usage(self, request: Request) -> Response:
        if request.method == "POST":
            data = self._body(request)
            self.usage.set(data.get("used"), data.get("max"))
        return json_response({"used": self.usage.used, "max": self.usage.max})

    def _op_credentials(self, request: Request) -> Response:
        """What an administrator types into the connector wizard to try the sandbox."""
        config = self.org.config
        return json_response(
            {
                "username": config.username,
                "password": config.password,
                "security_token": config.security_token,
                "client_id": config.client_id,
                "client_secret": config.client_secret,
                "login_url": request.host_url.rstrip("/"),
                "my_domain": config.my_domain,
                "api_version": versions.CURRENT_API_VERSION,
            }
        )


class RestContext:
    """Facts of one authenticated REST request."""

    def __init__(self, request: Request, version: str, user_id: str) -> None:
        self.request = request
        self.version = version
        self.user_id = user_id

    def write_context(self) -> WriteContext:
        headers = self.request.headers
        return WriteContext(
            user_id=self.user_id,
            version=self.version,
            auto_assign=parse_auto_assign(headers.get("Sforce-Auto-Assign")),
            allow_duplicate_save=parse_duplicate_header(headers.get("Sforce-Duplicate-Rule-Header")),
        )


RestHandler = Callable[..., Response]


class QueryCursors:
    """Query results beyond the first page, kept by locator like Salesforce's server-side cursors."""

    KEEP = 200  # cursors kept at once; the oldest goes first (Salesforce expires them too)

    def __init__(self) -> None:
        self.default_size = 2000
        self._open: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._made = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._open.clear()
            self.default_size = 2000

    def batch_size(self, options: str | None) -> int:
        """``Sforce-Query-Options: batchSize=n``: Salesforce takes 200–2000."""
        for part in (options or "").split(","):
            name, _, value = part.partition("=")
            if name.strip() == "batchSize" and value.strip().isdigit():
                return min(2000, max(200, int(value)))
        return self.default_size

    def first_page(self, result: dict[str, Any], size: int, path: str) -> dict[str, Any]:
        records = result["records"]
        if len(records) <= size:
            return result
        with self._lock:
            self._made += 1
            locator = ids.make_id("01g", self._made)
            self._open[locator] = (records, size)
            while len(self._open) > self.KEEP:
                self._open.pop(next(iter(self._open)))
        return self._page(locator, records, 0, size, path.rstrip("/"))

    def next_page(self, locator: str, path: str) -> dict[str, Any] | None:
        cursor_id, _, offset = locator.partition("-")
        with self._lock:
            found = self._open.get(cursor_id)
        if found is None or not offset.isdigit() or int(offset) >= len(found[0]):
            return None
        records, size = found
        return self._page(cursor_id, records, int(offset), size, path.rsplit("/", 1)[0])

    def _page(self, cursor_id: str, records: list, offset: int, size: int, base: str) -> dict[str, Any]:
        end = offset + size
        page: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records),
                                "records": records[offset:end]}
        if end < len(records):
            page["nextRecordsUrl"] = f"{base}/{cursor_id}-{end}"
        else:
            with self._lock:
                self._open.pop(cursor_id, None)
        return page


class RestApi:
    """Routing table and handlers of the Salesforce endpoints."""

    def __init__(self, app: SalesforceSandbox) -> None:
        self.app = app
        self.org = app.org
        self.auth = app.auth

    def routes(self) -> Map:
        rules = [
            Rule("/services/oauth2/token", endpoint="token", methods=["POST"]),
            Rule("/services/oauth2/authorize", endpoint="authorize", methods=["GET"]),
            Rule("/services/Soap/u/<version>", endpoint="soap_login", methods=["POST"]),
            Rule("/services/Soap/u/<version>/<org_id>", endpoint="soap_login", methods=["POST"]),
            Rule("/id/<org_id>/<user_id>", endpoint="identity", methods=["GET"]),
            Rule("/services/data/", endpoint="versions", methods=["GET"]),
            Rule(f"{DATA}/", endpoint="resources", methods=["GET"]),
            Rule(f"{DATA}/sobjects/", endpoint="global_describe", methods=["GET"]),
            Rule(f"{DATA}/sobjects/<name>/", endpoint="sobject", methods=["GET", "POST"]),
            Rule(f"{DATA}/sobjects/<name>/describe/", endpoint="describe", methods=["GET"]),
            Rule(
                f"{DATA}/sobjects/<name>/<record_id>", endpoint="record", methods=["GET", "PATCH", "DELETE"]
            ),
            Rule(f"{DATA}/query/", endpoint="query", methods=["GET"]),
            Rule(f"{DATA}/queryAll/", endpoint="query", methods=["GET"]),
            Rule(f"{DATA}/query/<locator>", endpoint="query_more", methods=["GET"]),
            Rule(f"{DATA}/queryAll/<locator>", endpoint="query_more", methods=["GET"]),
            Rule(f"{DATA}/composite/", endpoint="composite", methods=["POST"]),
            Rule(f"{DATA}/limits/", endpoint="limits", methods=["GET"]),
        ]
        return Map(rules, strict_slashes=False)

    def handlers(self) -> dict[str, Callable[..., Response]]:
        rest = {
            "resources": self.resources,
            "global_describe": self.global_describe,
            "sobject": self.sobject,
            "describe": self.describe,
            "record": self.record,
            "query": self.query,
            "query_more": self.query_more,
            "composite": self.composite,
            "limits": self.limits,
        }
        return {
            "token": self.token,
            "authorize": self.authorize,
            "soap_login": self.soap_login,
            "identity": self.identity,
            "versions": self.versions,
            **{name: partial(self._rest, handler) for name, handler in rest.items()},
        }

    # ------------------------------------------------------------ plumbing
    def _rest(self, handler: RestHandler, request: Request, version: str, **values: Any) -> Response:
        """Authenticate, count the call against the daily limit, map ApiError to JSON."""
        try:
            context = self._begin(request, version)
            return handler(context, **values)
        except ApiError as error:
            return error_response(error)

    def _begin(self, request: Request, version: str) -> RestContext:
        if version not in versions.VERSIONS:
            if version in versions.RETIRED:  # Salesforce: 410 GONE (body: an assumption)
                raise ApiError.one(410, "UNSUPPORTED_API_VERSION", f"API version {version} is retired "
                                   "and unavailable")
            raise ApiError.one(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        user_id = self.auth.session_user(request.headers.get("Authorization"))
        if user_id is None:
            raise ApiError(401, SESSION_INVALID)
        if not request.environ.get("sandbox.subrequest") and not self.app.usage.consume():
            raise ApiError(403, LIMIT_EXCEEDED)
        return RestContext(request, version, user_id)

    @staticmethod
    def base_url(request: Request) -> str:
        return request.host_url.rstrip("/")

    def domain(self, request: Request) -> domains.Domain:
        """The host the request was addressed to (``sandbox.salesforce.domains``)."""
        loopback_as = self.app.access.settings().get("loopback_host", domains.MY_DOMAIN)
        return domains.classify(request, self.app.org.config.my_domain, loopback_as)

    # ------------------------------------------------------------ auth
    def token(self, request: Request) -> Response:
        try:
            answer = self.auth.token(
                request.form.to_dict(), request.headers.get("Authorization"), self.domain(request)
            )
        except OAuthError as error:
            return json_response(error.body(), status=error.status, headers={"Cache-Control": "no-store"})
        return json_response(answer, headers={"Cache-Control": "no-store"})

    def authorize(self, request: Request) -> Response:
        try:
            target, params = self.auth.authorize(request.args.to_dict())
        except OAuthError as error:
            return json_response(error.body(), status=error.status)
        separator = "&" if "?" in target else "?"
        response = Response(status=302)
        response.headers["Location"] = f"{target}{separator}{urlencode(params)}"
        return response

    def soap_login(self, request: Request, version: str, org_id: str = "") -> Response:
        status, xml = self.auth.soap_login(request.get_data(), self.domain(request), version)
        return Response(xml, status=status, content_type="text/xml; charset=utf-8")

    def identity(self, request: Request, org_id: str, user_id: str) -> Response:
        session_user = self.auth.session_user(request.headers.get("Authorization"))
        if session_user is None:
            return Response("Bad_OAuth_Token", status=403)
        found = self.org.lookup(user_id)
        if found is None or org_id != ORG_ID:
            return Response("Bad_Id", status=404)
        user = found[1]
        base = self.base_url(request)
        return json_response(
            {
                "id": f"{base}/id/{ORG_ID}/{user['Id']}",
                "organization_id": ORG_ID,
                "user_id": user["Id"],
                "username": user["Username"],
                "email": user["Email"],
                "display_name": user["Name"],
                "first_name": user["FirstName"],
                "last_name": user["LastName"],
                "active": user["IsActive"],
                "user_type": "STANDARD",
                "timezone": user["TimeZoneSidKey"],
                "urls": {
                    "rest": f"{base}/services/data/v{{version}}/",
                    "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                    "query": f"{base}/services/data/v{{version}}/query/",
                },
            }
        )

    def versions(self, request: Request) -> Response:
        return json_response(versions.listing())

    # ------------------------------------------------------------ REST
    def resources(self, ctx: RestContext) -> Response:
        base = f"/services/data/v{ctx.version}"
        names = ["sobjects", "query", "queryAll", "composite", "limits"]
        return json_response({name: f"{base}/{name}" for name in names})

    def global_describe(self, ctx: RestContext) -> Response:
        objects = [self.org.require_sobject(name).summary(ctx.version) for name in STANDARD_OBJECTS]
        return json_response({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})

    def sobject(self, ctx: RestContext, name: str) -> Response:
        sobject = self.org.require_sobject(name)
        if ctx.request.method == "GET":
            return json_response({"objectDescribe": sobject.summary(ctx.version), "recentItems": []})
        record_id = self.org.create(sobject, read_json(ctx.request), ctx.write_context())
        response = json_response({"id": record_id, "success": True, "errors": []}, status=201)
        response.headers["Location"] = f"/services/data/v{ctx.version}/sobjects/{sobject.name}/{record_id}"
        return response

    def describe(self, ctx: RestContext, name: str) -> Response:
        return json_response(self.org.require_sobject(name).describe(ctx.version))

    def record(self, ctx: RestContext, name: str, record_id: str) -> Response:
        sobject = self.org.require_sobject(name)
        method = ctx.request.method
        if method == "GET":
            fields = [f for f in ctx.request.args.get("fields", "").split(",") if f.strip()]
            data = self.org.get(sobject, record_id, fields or None)
            full_id = ids.normalize(record_id)
            url = f"/services/data/v{ctx.version}/sobjects/{sobject.name}/{full_id}"
            return json_response({"attributes": {"type": sobject.name, "url": url}, **data})
        if method == "PATCH":
            self.org.update(sobject, record_id, read_json(ctx.request), ctx.write_context())
        else:
            self.org.delete(sobject, record_id)
        return Response(status=204)

    def query(self, ctx: RestContext) -> Response:
        text = ctx.request.args.get("q")
        if not text or not text.strip():
            raise bad_request("MALFORMED_QUERY", "A query string has to be specified")
        result = Executor(self.org, ctx.version).run(text)
        size = self.app.cursors.batch_size(ctx.request.headers.get("Sforce-Query-Options"))
        return json_response(self.app.cursors.first_page(result, size, ctx.request.path))

    def query_more(self, ctx: RestContext, locator: str) -> Response:
        page = self.app.cursors.next_page(locator, ctx.request.path)
        if page is None:
            raise ApiError.one(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return json_response(page)

    def limits(self, ctx: RestContext) -> Response:
        usage = self.app.usage
        fixed = {
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyStreamingApiEvents": {"Max": 1000000, "Remaining": 1000000},
            "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            "FileStorageMB": {"Max": 1024, "Remaining": 1024},
            "HourlyTimeBasedWorkflow": {"Max": 1000, "Remaining": 1000},
            "SingleEmail": {"Max": 5000, "Remaining": 5000},
        }
        return json_response(
            {
                "DailyApiRequests": {"Max": usage.max, "Remaining": max(0, usage.max - usage.used)},
                **fixed,
            }
        )

    def composite(self, ctx: RestContext) -> Response:
        body = read_json(ctx.request)
        execute = partial(self._subrequest, ctx.request)
        return json_response(composite.run(self.org, body, execute))

    def _subrequest(
        self, outer: Request, method: str, url: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """Run one composite subrequest through the normal routing (not counted, no faults)."""
        inherited = {
            name: value
            for name, value in outer.headers.items()
            if name.lower() in ("authorization", "sforce-auto-assign", "sforce-duplicate-rule-header")
        }
        environ = subrequest_environ(
            outer.host_url,
            method,
            url,
            {**inherited, **headers},
            json.dumps(body) if body is not None else None,
        )
        environ["sandbox.subrequest"] = True
        response = self.app.dispatch(Request(environ))
        payload = response.get_data(as_text=True)
        sub_headers = {"Location": response.headers["Location"]} if ("Location" in response.headers) else {}
        return response.status_code, json.loads(payload) if payload else None, sub_headers


def build_config(crm_options: dict[str, Any]) -> OrgConfig:
    """OrgConfig from CLI/create_app options; None means "not given" (keep the default)."""
    known = set(OrgConfig.__dataclass_fields__)
    options = {key.replace("-", "_"): value for key, value in crm_options.items() if value is not None}
    if "deploy_bookbridge_fields" in options:
        options["bookbridge_fields"] = options.pop("deploy_bookbridge_fields")
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown Salesforce sandbox options: {', '.join(sorted(unknown))}")
    if "daily_api_limit" in options:
        options["daily_api_limit"] = int(options["daily_api_limit"])
    for name in ("bookbridge_fields", "soap_login", "username_password_flows"):
        if name in options:
            options[name] = as_bool(options[name])
    if "my_domain" in options:
        options["my_domain"] = check_my_domain(str(options["my_domain"]))
    return OrgConfig(**options)


def check_my_domain(name: str) -> str:
    """A My Domain host name (``acme.my.salesforce.com``, or a bare ``acme``)."""
    host = name.strip().lower().rstrip(".")
    if host and "." not in host:
        host = f"{host}.my.salesforce.com"
    labels = host.split(".")
    if not all(label and label.replace("-", "").isalnum() and label.isascii() for label in labels):
        raise ValueError(f"not a host name: {name!r}")
    if host in domains.LOGIN_HOSTS:
        raise ValueError("the My Domain cannot be a generic login host")
    return host


def as_bool(value: Any) -> bool:
    """CLI extras arrive as strings ("true" for a bare flag)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def create_app(
    *, store_path: Path | None = None, faults: FaultConfig | None = None, **crm_options: Any
) -> SandboxApp:
    """Build the Salesforce sandbox (entry point used by ``python -m sandbox salesforce``).

    ``crm_options``: ``username``, ``password``, ``security_token``, ``client_id``,
    ``client_secret`` (the seeded connected app), ``daily_api_limit``, ``assignment_owner``
    (user id, username or e-mail), ``bookbridge_fields`` (start with ``Booking_Status__c`` and
    ``Cancel_Reschedule_Reason__c`` deployed on Event; default False), ``my_domain`` (the org's
    My Domain host name, default ``bookbridge-sandbox.my.salesforce.com``), ``soap_login`` and
    ``username_password_flows`` (the org switches' start values, default on).
    """
    config = build_config(crm_options)
    org = Org(None, config)  # type: ignore[arg-type]  # the store needs org.seed first

    def seed(store: Store) -> None:
        org.seed(store)
        seed_access(store)

    def seed_access(store: Store) -> None:
        access.seed(store, client_id=config.client_id, client_secret=config.client_secret,
                    soap_login=config.soap_login, username_password_flows=config.username_password_flows)

    store = Store(store_path, seed=seed)
    seed_access(store)  # a state file from before client apps existed gets the defaults
    org.attach(store)
    app_access = Access(store, org.resolve_user)
    auth = Auth(store, config, app_access)
    return SalesforceSandbox(
        store, FaultInjector(faults or FaultConfig()), org, auth, ApiUsage(config.daily_api_limit),
        app_access,
    )
