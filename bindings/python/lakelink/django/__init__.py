"""A Django database backend for Lakebase: ``"ENGINE": "lakelink.django"``.

Django's PostgreSQL backend over psycopg 3 (Django's backend is built on
psycopg's adaptation of types, so this one adds only the login): every new
connection logs in with the current Lakebase credential, which lakelink
mints, caches and renews ahead of expiry. See ``lakelink.django.base`` and
bindings/python/README.md ("Django").
"""
