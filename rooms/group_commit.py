"""Plain messages posted at the same moment in one process share one transaction (PostgreSQL).

Positions follow commit order because every write holds the single stream row
from its position to its commit (rooms/stream.py). The commit is the long
part: PostgreSQL flushes the WAL to disk before it answers, 1.5 to 5 ms on the
project's machine depending on how busy its disk is (docs/benchmarks.md,
"Burst (issue 15)"), and no other write can take a position meanwhile. One
message per commit therefore capped the whole server near 1 / (statement +
flush), 180-720 messages a second there, however many cores it had.

So a process writes its plain messages in batches, as PostgreSQL's own group
commit would if the row allowed it. The first post to arrive leads: it writes
every message queued so far in one statement (positions, ids, mentions, events,
the rooms' last message, one NOTIFY; rooms/messaging.py's `BATCH_SQL`) and
commits once. Posts that arrive while that commit is under way wait for it, and
the first of them leads the next batch with all the others. A lone post waits
for nothing (it leads a batch of one, the old one-statement write); under load a
batch carries what arrived during one commit. Positions and ids still follow
commit order, and within a batch the order the posts arrived in.

A batch that fails (a repeated client_id, a reply to a message deleted
meanwhile, the database gone) writes nothing; each of its posts is then written
alone, as before, and gets its own answer (the first message for a repeated
client_id, its own error otherwise).
"""
import threading

MAX_BATCH = 64


class Pending:
    """One post waiting to be written: its row, and what became of it."""

    __slots__ = ("row", "done", "lead", "message_id", "alone")

    def __init__(self, row):
        self.row = row
        self.done = threading.Event()
        self.lead = False  # told to lead the next batch
        self.message_id = None  # written in a batch
        self.alone = False  # its batch failed: write it alone


class GroupCommit:
    """Write rows in batches of whatever arrives during the previous batch's commit."""

    def __init__(self, write_batch, max_batch=MAX_BATCH):
        self._write_batch = write_batch  # rows -> their message ids, in order, one transaction
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue = []
        self._busy = False  # a batch is being written
        self.batches = self.rows = 0  # written so far (for the benchmark's notes and the tests)

    def write(self, row):
        """Write `row` in a batch; return its message id, or None when it must be written alone.

        Call it outside any transaction: the batch commits on the leader's connection.
        """
        pending = Pending(row)
        with self._lock:
            self._queue.append(pending)
            lead = not self._busy
            self._busy = True
        if not lead:
            pending.done.wait()
            if not pending.lead:
                return None if pending.alone else pending.message_id
        return self._lead(pending)

    def _lead(self, pending):
        with self._lock:  # our own post is first in the queue: we came first, or were told to lead
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
        try:
            ids = self._write_batch([item.row for item in batch])
            for item, message_id in zip(batch, ids, strict=True):
                item.message_id = message_id
            self.batches += 1
            self.rows += len(batch)
        except Exception:
            for item in batch:
                item.alone = True
        finally:
            with self._lock:
                if self._queue:
                    following = self._queue[0]
                    following.lead = True
                    following.done.set()
                else:
                    self._busy = False
            for item in batch:
                if item is not pending:
                    item.done.set()
        return None if pending.alone else pending.message_id
