"""Serving uploaded files: placeholders, so that `upload.url` and `thumbnail_url` have their URLs (issue 12)."""
from django.http import Http404


def upload_file(request, upload_id, name):
    raise Http404("No such file.")


def upload_thumbnail(request, upload_id):
    raise Http404("No such file.")
