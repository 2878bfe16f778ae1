"""Settings for the test suite and the servers it starts: production's, with a fast password hasher."""
import os
import sys

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if USING_POSTGRES:  # noqa: F405
    # A test database per run, so that runs side by side never truncate each other's.
    DATABASES["default"]["TEST"] = {"NAME": f"test_parley_{os.getpid()}"}  # noqa: F405

if "pytest" in sys.modules and not os.environ.get("PARLEY_POLL_MODE"):
    # The test runner's own process has no gevent, but its in-process polls wait
    # (in threads) as a gevent worker's do; the servers it starts decide for themselves.
    PARLEY_POLL_MODE = "long"
