"""Salesforce sandbox: OAuth/SOAP login, sObject REST, describe, SOQL, composite, limits.

Start it with ``python -m sandbox salesforce --port N``; ``sandbox.salesforce.app.create_app``
builds the WSGI app. See ``app.py`` for the endpoints and the plain-HTTP transport choice.
"""
