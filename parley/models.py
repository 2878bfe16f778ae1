"""Tables that belong to the site rather than to accounts or rooms."""
from django.db import models


class RateCounter(models.Model):
    """One fixed-window counter of parley/ratelimit.py, shared by every process and host.

    `key` is a hash of the rule and who is counted (an IP, a user id, an email),
    so the table never holds addresses or emails in clear. One row per key: the
    UPSERT restarts the count when a new window begins.
    """

    key = models.CharField(max_length=64, primary_key=True)
    window_start = models.BigIntegerField()
    hits = models.IntegerField()
    # When the row stops mattering; old rows are deleted now and then.
    expires_at = models.BigIntegerField(db_index=True)

    class Meta:
        db_table = "parley_rate_counter"
