"""Settings for the test suite and the servers it starts: production's, with a fast password hasher."""
from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    import os

    # A test database per run, so that runs side by side never truncate each other's.
    DATABASES["default"]["TEST"] = {"NAME": f"test_parley_{os.getpid()}"}  # noqa: F405
