#!/usr/bin/env python3
"""Make the pnpm lockfile of jaeger-ui main (c321fb32) installable from today's npm registry, frozen.

Upstream locks `@assistant-ui/react-ag-ui@0.0.35`, which the registry no longer serves (404; 0.0.51-0.0.58
are). This moves that one entry to 0.0.51 (integrity from the registry) and adds the one package 0.0.51
imports that the lockfile lacks, `@assistant-ui/react-generative-ui@0.0.13` (0.0.12 is not served either),
wired to versions the lockfile already holds. Everything else stays exactly as upstream locked it, so
`pnpm install --frozen-lockfile` installs the same tree every time. react-ag-ui only backs the UI's optional
AI-assistant panel; the trace pages do not use it.

Also drops the `packageManager` pin (pnpm 11 refuses to run under another version) and sets, in
pnpm-workspace.yaml, `minimumReleaseAge: 0` (the release-age policy otherwise rejects the lockfile) and
`supportedArchitectures` = this platform only (other platforms' optional binaries are not fetched).

Usage: fix-ui-lockfile.py <jaeger-ui source dir>. Idempotent; a lockfile without the 0.0.35 entry is left alone.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OLD, NEW = "0.0.35", "0.0.51"
NEW_INTEGRITY = "sha512-GzcJU4wZmMJ4GyWVxyd05KhNkMYSJWLst0eMEybY1OassH+rhwEK/d/M4N8648xBBGkKk8lCWtUfgVF79bj+MA=="
GENUI = "@assistant-ui/react-generative-ui"
GENUI_VERSION = "0.0.13"
GENUI_INTEGRITY = "sha512-1tJyBHmLVWGiTQ+vmUsrCJ1BZ2VWBfHhwQCd10ODJUEhFpF0tn9qpGDfRTgwMMFLDqwK7r206U5cgMt0IV38ww=="
REACT = (
    "0.15.2(@types/react-dom@19.2.3(@types/react@19.2.7))(@types/react@19.2.7)(immer@11.1.8)"
    "(react-dom@19.2.0(react@19.2.0))(react@19.2.0)(use-sync-external-store@1.6.0(react@19.2.0))"
)
GENUI_PACKAGE = f"""  '{GENUI}@{GENUI_VERSION}':
    resolution: {{integrity: {GENUI_INTEGRITY}}}
    peerDependencies:
      '@assistant-ui/react': ^0.15.0
      '@types/react': '*'
      react: ^18 || ^19
      zod: ^4.0.0
    peerDependenciesMeta:
      '@types/react':
        optional: true

"""
GENUI_SNAPSHOT = f"""  '{GENUI}@{GENUI_VERSION}':
    dependencies:
      '@assistant-ui/react': {REACT}
      assistant-stream: 0.3.37
      react: 19.2.0
      zod: 4.4.3
    optionalDependencies:
      '@types/react': 19.2.7

"""
WORKSPACE_SETTINGS = """
# added by llm-otel jaeger/fix-ui-lockfile.py
minimumReleaseAge: 0
supportedArchitectures:
  os: [current]
  cpu: [current]
  libc: [current]
"""


def fix_lockfile(text: str) -> str:
    name = "@assistant-ui/react-ag-ui"
    if f"'{name}@{OLD}'" not in text:
        return text
    old_integrity = re.search(rf"'{re.escape(name)}@{OLD}':\n    resolution: \{{integrity: (\S+)\}}", text)
    if old_integrity is None:
        raise SystemExit(f"fix-ui-lockfile: no resolution for {name}@{OLD}")
    text = text.replace(old_integrity.group(1), NEW_INTEGRITY)
    text = text.replace(f"specifier: {OLD}\n        version: {OLD}(", f"specifier: {NEW}\n        version: {NEW}(")
    text = text.replace(f"'{name}@{OLD}", f"'{name}@{NEW}")
    snapshots = text.index("\nsnapshots:\n")
    packages, rest = text[:snapshots], text[snapshots:]
    anchor = "  '@assistant-ui/react@0.15.2':\n"
    packages = packages.replace(anchor, GENUI_PACKAGE + anchor, 1)
    anchor = "  '@assistant-ui/react@0.15.2(@types/react-dom"
    rest = rest.replace(anchor, GENUI_SNAPSHOT + anchor, 1)
    entry = rest.index(f"  '{name}@{NEW}(")
    dep = "      '@ag-ui/client': 0.0.54\n"
    at = rest.index(dep, entry) + len(dep)
    rest = rest[:at] + f"      '{GENUI}': {GENUI_VERSION}\n" + rest[at:]
    return packages + rest


def main(src: Path) -> None:
    lock = src / "pnpm-lock.yaml"
    lock.write_text(fix_lockfile(lock.read_text()))
    for path, key in ((src / "package.json", "packageManager"), (src / "packages/jaeger-ui/package.json", None)):
        data = json.loads(path.read_text())
        if key:
            data.pop(key, None)
        deps = data.get("dependencies", {})
        if deps.get("@assistant-ui/react-ag-ui") == OLD:
            deps["@assistant-ui/react-ag-ui"] = NEW
        path.write_text(json.dumps(data, indent=2) + "\n")
    workspace = src / "pnpm-workspace.yaml"
    if "minimumReleaseAge" not in workspace.read_text():
        workspace.write_text(workspace.read_text() + WORKSPACE_SETTINGS)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
