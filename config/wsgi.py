import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _cooperative_psycopg():
    """Under gevent, make psycopg2 yield to other greenlets while it waits (DESIGN-NOTES 2)."""
    try:
        from gevent import monkey
    except ImportError:
        return
    if monkey.is_module_patched("socket"):
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


_cooperative_psycopg()
application = get_wsgi_application()
