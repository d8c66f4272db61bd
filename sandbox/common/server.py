"""Serve a ``SandboxApp`` on a threaded Werkzeug server until SIGTERM/SIGINT.

Tests and the benchmark start sandboxes as separate processes and wait for the single line
``SANDBOX READY <name> http://127.0.0.1:<port>`` instead of sleeping, so it is printed (and
flushed) only once the socket is listening, with the real port when 0 was asked for.
"""

from __future__ import annotations

import logging
import signal
import threading

from werkzeug.serving import make_server

from sandbox.common.app import SandboxApp


def serve(app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
    """Run until SIGTERM/SIGINT, then stop accepting, and save file-backed state."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
    server = make_server(host, port, app, threaded=True)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=server.serve_forever, name="sandbox-server", daemon=True)
    thread.start()
    print(f"SANDBOX READY {app.name} http://{host}:{server.server_port}", flush=True)
    try:
        while not stop.wait(0.5):
            if not thread.is_alive():
                break
    finally:
        server.shutdown()
        server.server_close()
        app.store.save()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
