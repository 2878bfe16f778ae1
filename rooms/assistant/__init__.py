"""Parley's assistant: the brain of the built-in "Assistant" bot, as plain functions on plain data.

    reply = answer("what did I miss?", asker=context, now=now, tz=zone, llm=None)

`answer` returns a Reply (Markdown text, the intent, an optional Reminder,
the ids of the messages it quotes). Everything it knows of messages comes
from the AskerContext the caller builds for the asker (see context.py);
nothing here imports a model, reads the database or uses the network, except
the optional language model the caller configures (llm.py).
"""
from .answers import answer, warm
from .context import AskerContext, Record, Reminder, Reply, RoomRef
from .llm import LLMConfig

__all__ = ["answer", "warm", "AskerContext", "Record", "Reminder", "Reply", "RoomRef", "LLMConfig"]
