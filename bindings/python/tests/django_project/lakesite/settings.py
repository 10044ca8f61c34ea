"""Settings: DATABASES from the environment tests/test_django.py sets.

LAKELINK_TEST_CONN: a connection string (OPTIONS["connection_string"]); or, as inside a Databricks App,
none, the identity from DATABRICKS_* and the database from LAKELINK_TEST_NAME/HOST/PORT.
LAKELINK_TEST_POOL=1: Django's connection pool (OPTIONS["pool"]).
"""
import os

SECRET_KEY = "lakelink-django-test"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "notes"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_options = {}
if os.environ.get("LAKELINK_TEST_CONN"):
    _options["connection_string"] = os.environ["LAKELINK_TEST_CONN"]
if os.environ.get("LAKELINK_TEST_POOL") == "1":
    _options["pool"] = {"min_size": 1, "max_size": 3}

DATABASES = {
    "default": {
        "ENGINE": "lakelink.django",
        "NAME": os.environ.get("LAKELINK_TEST_NAME", ""),
        "HOST": os.environ.get("LAKELINK_TEST_HOST", ""),
        "PORT": os.environ.get("LAKELINK_TEST_PORT", ""),
        "OPTIONS": _options,
    }
}
