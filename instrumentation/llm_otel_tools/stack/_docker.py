"""`llm-otel stack ... --docker`: the same stack through docker compose (needs a Docker engine)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from llm_otel_tools.stack._stack import StackError

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


def compose(repo: Path, action: str) -> int:
    """Run `docker compose -f docker-compose.yml <up -d|down|ps>` in the repository."""
    args = {"up": ["up", "-d"], "down": ["down"], "status": ["ps"]}[action]
    cmd = [*_compose_command(), "-f", str(repo / "docker-compose.yml"), *args]
    return subprocess.run(cmd, cwd=repo, check=False).returncode
