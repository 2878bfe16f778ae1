from django.apps import AppConfig
from django.db.models.signals import post_delete


class RoomsConfig(AppConfig):
    name = "rooms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core import checks

        from . import search, uploads
        from .models import Upload

        # Every ORM delete of an upload (its message, its room, its uploader's account) takes its files.
        post_delete.connect(uploads.upload_deleted, sender=Upload, dispatch_uid="rooms.upload_deleted")
        checks.register(search.check_language, checks.Tags.database)
