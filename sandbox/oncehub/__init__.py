"""OnceHub API v2 sandbox: the bookings a backfill reads (list, get) and the key check.

Facts come from OnceHub's OpenAPI files (``shared/reference/oncehub/openapi``: ``index.yaml``,
``resources/bookings/list.yaml`` and ``get.yaml``, ``components/parameters/common.yaml``,
``components/responses/errors.yaml``); where they are silent, the choice made is noted here.
"""
