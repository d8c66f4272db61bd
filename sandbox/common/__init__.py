"""Pieces shared by every CRM sandbox: fault injection, state store, WSGI app, server."""

from sandbox.common.app import SandboxApp
from sandbox.common.faults import FaultConfig, FaultDecision, FaultInjector
from sandbox.common.server import serve
from sandbox.common.store import Store

__all__ = ["FaultConfig", "FaultDecision", "FaultInjector", "SandboxApp", "Store", "serve"]
