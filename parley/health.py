from django.db import DatabaseError, connection
from django.views.decorators.http import require_GET

from .api import json_response


@require_GET
def healthz(request):
    """Say whether the app and its database answer; no auth, for load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return json_response({"status": "error", "database": "down"}, status=503)
    return json_response({"status": "ok", "database": "ok"})
