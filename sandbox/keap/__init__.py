"""Keap (Infusionsoft) sandbox: OAuth2, REST v1/v2 subsets and the XML-RPC DataService.

Facts about the real API come from ``shared/reference/keap-api.md`` and the official OpenAPI
files; where the reference marks something unconfirmed, the choice made is noted in the code.
"""
