"""How Parley runs inside gunicorn's gevent worker: the deferred WSGI layer, the worker class and the pooled PostgreSQL backend."""
