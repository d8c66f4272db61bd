"""Local CRM sandboxes (Keap, Salesforce, HubSpot) that behave like the real APIs on the wire.

Real CRM accounts cannot be reached from development and CI machines, so Bookbridge ships
sandboxes: HTTP servers with the real paths, field names, status codes, headers and error
bodies, state of their own, and fault injection on demand. The package is independent of
Django and of the rest of Bookbridge on purpose: connectors must not be able to tell a sandbox
from the real CRM, so nothing here may share code with them.

Run one::

    python -m sandbox keap --port 8801 [--state-file var/keap.json] [--latency-ms 200]
        [--error-rate 0.1] [--quota-rps 5] [--drop-rate 0.05] [--timeout-rate 0.05]
        [--timeout-seconds 30] [--slow-then-fail-ms 2000] [--seed 1]
        [--client-id ID] [--client-secret S] [--service-account-key K] [--token-ttl SECONDS]

It prints ``SANDBOX READY keap http://127.0.0.1:8801`` once listening and stops on
SIGTERM/SIGINT. Operator endpoints, identical for every CRM and never subject to faults:

* ``GET /_sandbox/`` – read-only HTML view of the stored records;
* ``GET /_sandbox/state`` – the same as JSON; ``GET /_sandbox/health``;
* ``GET|PUT|POST /_sandbox/faults`` – read / change the ``FaultConfig`` (JSON);
* ``POST /_sandbox/reset`` – state, faults and tokens back to the start-up values;
* ``POST /_sandbox/expire-tokens`` – every issued access token stops working.

Layout: ``sandbox.common`` (faults, store, WSGI app, server), one sub-package per CRM with a
``create_app(*, store_path, faults, **crm_options)`` in its ``app`` module.
"""
