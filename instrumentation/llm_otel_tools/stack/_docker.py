"""`llm-otel stack ... --docker`: the same stack through docker compose (needs a Docker engine)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from llm_otel_tools.stack._stack import StackError, default_state_dir

__all__ = ["compose"]


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        engine_ok = subprocess.run([docker, "info"], capture_output=True, check=False).returncode == 0
        if not engine_ok:
            raise StackError("no Docker engine is reachable (`docker info` fails); run the local stack without --docker")
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        if docker and subprocess.run([docker, "info"], capture_output=True, check=False).returncode != 0:
            raise StackError("no Docker engine is reachable (`docker info` fails); run the local stack without --docker")
        return [legacy]
    raise StackError("neither `docker compose` nor `docker-compose` found: install Docker (https://docs.docker.com/engine/install/)")


def grafana_admin_password(state_dir: Path) -> tuple[str, Path]:
    """The Grafana admin password docker-compose.yml requires: generated once, kept in the state dir (0600)."""
    path = state_dir / "grafana-admin-password"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(18) + "\n")
    return path.read_text().strip(), path


def compose(repo: Path, action: str) -> int:
    """Run `docker compose -f docker-compose.yml <up -d|down|ps>` in the repository.

    Without GRAFANA_ADMIN_PASSWORD in the environment, a generated one (see grafana_admin_password) is used."""
    args = {"up": ["up", "-d"], "down": ["down"], "status": ["ps"]}[action]
    cmd = [*_compose_command(), "-f", str(repo / "docker-compose.yml"), *args]
    env = dict(os.environ)
    if not env.get("GRAFANA_ADMIN_PASSWORD"):
        env["GRAFANA_ADMIN_PASSWORD"], where = grafana_admin_password(default_state_dir(repo))
        if action == "up":
            print(f"Grafana (http://127.0.0.1:3000): user admin, password in {where}", file=sys.stderr)
    return subprocess.run(cmd, cwd=repo, env=env, check=False).returncode
