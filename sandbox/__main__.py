"""Command line: ``python -m sandbox keap|salesforce|hubspot|oncehub --port N [options]``.

The CRM module is imported lazily by name (``sandbox.<kind>.app:create_app``) so one sandbox
keeps working while another is missing or broken. Every ``create_app`` has the signature
``create_app(*, store_path: Path | None, faults: FaultConfig, **crm_options) -> SandboxApp``;
CRM-specific flags are passed on as ``crm_options``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox.common.faults import FaultConfig
from sandbox.common.server import serve

KINDS = ("keap", "salesforce", "hubspot", "oncehub")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="persist state as JSON here (survives restarts)",
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument("--latency-ms", type=int, default=0)
    faults.add_argument("--error-rate", type=float, default=0.0)
    faults.add_argument("--quota-rps", type=float, default=None)
    faults.add_argument("--drop-rate", type=float, default=0.0)
    faults.add_argument("--timeout-rate", type=float, default=0.0)
    faults.add_argument("--timeout-seconds", type=float, default=30.0)
    faults.add_argument("--slow-then-fail-ms", type=int, default=0)
    faults.add_argument("--seed", type=int, default=None)
    keap = parser.add_argument_group("keap")
    keap.add_argument("--client-id", default=None)
    keap.add_argument("--client-secret", default=None)
    keap.add_argument("--service-account-key", default=None)
    keap.add_argument("--token-ttl", type=int, default=None, help="access-token lifetime in seconds")
    keap.add_argument("--limit-scale", type=float, default=None,
                      help="multiply the advertised spike/throttle/quota limits (an app with higher limits)")
    return parser


def fault_config(args: argparse.Namespace) -> FaultConfig:
    return FaultConfig(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        quota_rps=args.quota_rps,
        drop_rate=args.drop_rate,
        timeout_rate=args.timeout_rate,
        slow_then_fail_ms=args.slow_then_fail_ms,
        seed=args.seed,
        timeout_seconds=args.timeout_seconds,
    )


def crm_options(args: argparse.Namespace, unknown: Sequence[str]) -> dict[str, Any]:
    """Named CRM flags that were given, plus ``--key value`` pairs we do not know (for CRMs)."""
    names = ("client_id", "client_secret", "service_account_key", "token_ttl", "limit_scale")
    options = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    options.update(_parse_extra(unknown))
    return options


def _parse_extra(extra: Sequence[str]) -> dict[str, str]:
    """Unknown ``--some-flag value`` / ``--some-flag=value`` pairs go to the CRM as strings."""
    options: dict[str, str] = {}
    items = list(extra)
    while items:
        item = items.pop(0)
        if not item.startswith("--"):
            raise SystemExit(f"unexpected argument: {item}")
        key, _, value = item[2:].partition("=")
        if not value:
            value = items.pop(0) if items and not items[0].startswith("--") else "true"
        options[key.replace("-", "_")] = value
    return options


def main(argv: Sequence[str] | None = None) -> int:
    args, unknown = build_parser().parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        module = importlib.import_module(f"sandbox.{args.kind}.app")
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith(f"sandbox.{args.kind}"):
            raise  # a real import error inside an existing sandbox must not be hidden
        print(f"sandbox {args.kind!r} is not available: {exc}", file=sys.stderr)
        return 2
    app = module.create_app(
        store_path=args.state_file, faults=fault_config(args), **crm_options(args, unknown)
    )
    serve(app, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
