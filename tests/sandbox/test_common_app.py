"""The shared operator endpoints and fault handling of ``SandboxApp`` (in-process WSGI)."""

from __future__ import annotations

import pytest
from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from sandbox.common.app import SandboxApp, json_response
from sandbox.common.faults import FaultConfig, FaultInjector
from sandbox.common.store import Store


def seed(store: Store) -> None:
    store.insert("notes", {"text": "<b>seeded</b>"})


class Demo(SandboxApp):
    expired = 0

    def expire_all_tokens(self) -> None:
        self.expired += 1

    def add_headers(self, request: Request, response: Response) -> None:
        response.headers["X-Demo"] = "1"


@pytest.fixture
def app() -> Demo:
    store = Store(seed=seed)

    def create(request: Request) -> Response:
        return json_response(store.insert("notes", request.get_json()), status=201)

    routes = Map([Rule("/notes", endpoint="create", methods=["POST"])])
    return Demo("demo", store, FaultInjector(FaultConfig(latency_ms=0)), routes, {"create": create})


def test_routes_and_crm_headers(app: Demo) -> None:
    client = Client(app)
    response = client.post("/notes", json={"text": "hi"})
    assert response.status_code == 201 and response.headers["X-Demo"] == "1"
    assert client.get("/nope").status_code == 404
    assert client.get("/notes").status_code == 405


def test_operator_endpoints(app: Demo) -> None:
    client = Client(app)
    client.post("/notes", json={"text": "hi"})
    assert client.get("/_sandbox/health").json == {"status": "ok", "sandbox": "demo"}
    assert len(client.get("/_sandbox/state").json["notes"]) == 2
    assert client.put("/_sandbox/faults", json={"error_rate": 1}).json["error_rate"] == 1.0
    assert client.post("/notes", json={}).status_code == 503
    assert client.get("/_sandbox/state").status_code == 200  # operator: never faulted
    assert client.post("/_sandbox/faults", json={"bogus": 1}).status_code == 400
    client.post("/_sandbox/expire-tokens")
    assert app.expired == 1
    reset = client.post("/_sandbox/reset").json
    assert reset["faults"]["error_rate"] == 0.0
    assert len(client.get("/_sandbox/state").json["notes"]) == 1


def test_html_page_escapes(app: Demo) -> None:
    page = Client(app).get("/_sandbox/").get_data(as_text=True)
    assert "&lt;b&gt;seeded&lt;/b&gt;" in page and "<b>seeded" not in page


def test_throttle_uses_hook(app: Demo) -> None:
    client = Client(app)
    client.put("/_sandbox/faults", json={"quota_rps": 1})
    statuses = [client.post("/notes", json={}).status_code for _ in range(3)]
    assert statuses[0] == 201 and 429 in statuses


class Gatekeeper(Demo):
    """Refuses requests without ``X-Key`` before any fault, like a gateway checking credentials."""

    def before_faults(self, request: Request) -> Response | None:
        if request.headers.get("X-Key") != "k":
            return json_response({"message": "no key"}, status=401)
        return None


def test_before_faults_answers_without_faults_or_quota(app: Demo) -> None:
    gate = Gatekeeper("gate", app.store, FaultInjector(FaultConfig()), app.routes, app.handlers)
    client = Client(gate)
    client.put("/_sandbox/faults", json={"error_rate": 1, "quota_rps": 1})
    refused = [client.post("/notes", json={}) for _ in range(3)]
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert refused[0].headers["X-Demo"] == "1"  # the CRM's headers still apply
    assert client.post("/notes", json={}, headers={"X-Key": "k"}).status_code == 503  # faults apply
