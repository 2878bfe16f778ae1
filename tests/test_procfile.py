"""The Procfile lists every process Parley runs, and `make serve` starts them all from it."""
import subprocess

from tests.live import ROOT


def processes():
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    return dict(line.split(":", 1) for line in lines)


def test_the_procfile_names_the_web_server_the_purge_and_the_bots_worker():
    found = {name: command.strip() for name, command in processes().items()}
    assert found["web"] == "gunicorn -c config/gunicorn.py config.wsgi"
    assert found["purge"].startswith("python manage.py purge_messages --every ")
    assert found["bots"] == "python manage.py run_bots"


def test_every_procfile_command_is_a_management_command_that_exists():
    from django.core.management import get_commands

    for name, command in processes().items():
        words = command.split()
        if words[:2] == ["python", "manage.py"]:
            assert words[2] in get_commands(), (name, command)


def test_make_serve_migrates_then_runs_every_procfile_line():
    plan = subprocess.run(["make", "-n", "serve"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "manage.py migrate" in plan
    assert "honcho -f Procfile start" in plan
    assert plan.index("manage.py migrate") < plan.index("honcho")
