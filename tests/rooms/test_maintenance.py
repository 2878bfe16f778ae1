"""Starting a process's delivery and upkeep: once, explicitly, by the server; never by a shell or a command."""
import os
import subprocess
import sys
from pathlib import Path

from rooms import hub as hub_module
from rooms import maintenance

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_maintenance_loop_starts_in_each_process_with_the_hubs_other_loops(settings, monkeypatch):
    started = []
    monkeypatch.setattr(hub_module.Hub, "_start_thread", staticmethod(lambda target, name: started.append(name)))
    monkeypatch.setattr(hub_module.listen, "start", lambda: started.append("listen"))
    monkeypatch.setattr(maintenance, "hub", hub_module.Hub())
    settings.PARLEY_BACKGROUND_THREADS = True
    maintenance.start()
    maintenance.start()  # once per process, however often it is asked
    assert started == ["parley-fetch", "parley-maintenance", "listen"]


def test_a_shell_that_uses_delivery_starts_no_thread_and_the_wsgi_entry_starts_them():
    code = (
        "import threading, django; django.setup()\n"
        "from rooms import api, maintenance, polling, services\n"
        "from rooms.hub import hub\n"
        "print(hub.started, sorted(t.name for t in threading.enumerate() if t.name.startswith('parley')))\n"
        "import config.wsgi\n"
        "print(hub.started, sorted(t.name for t in threading.enumerate() if t.name.startswith('parley')))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PARLEY_BACKGROUND_THREADS": "on",
           "DATABASE_URL": "sqlite:///:memory:"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out == ["False []", "True ['parley-fetch', 'parley-maintenance']"]
