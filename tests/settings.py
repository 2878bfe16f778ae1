"""Settings for the test suite and the servers it starts: production's, with a fast password hasher."""
from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
