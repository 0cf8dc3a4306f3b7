"""The image's HEALTHCHECK: is the service this container runs answering?

One image runs every Python service, so the check reads the service's command line
(PID 1's, or the words given as arguments) and asks that service what its
docker-compose.yml healthcheck asks, on the port the command names (else the default).
Exit 0 healthy, 1 not (Docker's convention). Standard library only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

# program -> (default port, HTTP path); None: a check of its own below.
HTTP = {
    "dagster-webserver": (3000, "/server_info"),
    "mlflow": (5000, "/health"),
    "uvicorn": (8000, "/health"),
    "gunicorn": (8050, "/"),
}


def command_line() -> list[str]:
    if len(sys.argv) > 1:
        return sys.argv[1:]
    raw = Path("/proc/1/cmdline").read_bytes()
    return [w.decode() for w in raw.split(b"\0") if w]


def port_of(words: list[str], default: int) -> int:
    text = " ".join(words)
    m = re.search(r"--port[= ](\d+)", text) or re.search(r"--bind[= ]\S*:(\d+)", text)
    return int(m.group(1)) if m else default


def check(words: list[str]) -> list[str] | str:
    """The URL to fetch, or the command to run, for the service ``words`` start.
    A leading ``--path=/p`` asks an HTTP service for /p instead (``--path=/ready``: the
    model service has a champion, the readiness probe of deploy/k8s/)."""
    path = words[0].removeprefix("--path=") if words and words[0].startswith("--path=") else None
    words = words[1:] if path else words
    programs = [Path(w).name for w in words]
    if "code-server" in programs or "grpc" in programs:
        return ["dagster", "api", "grpc-health-check", f"--port={port_of(words, 4000)}"]
    if "dagster-daemon" in programs:
        return ["dagster-daemon", "liveness-check"]
    for program, (port, default) in HTTP.items():
        if program in programs:
            return f"http://localhost:{port_of(words, port)}{path or default}"
    raise SystemExit(f"healthcheck: no check for {' '.join(words)!r}")


def main() -> int:
    target = check(command_line())
    try:
        if isinstance(target, str):
            # The model service's protected routes (/ready) want the bearer token.
            token = os.environ.get("FX_API_TOKEN")
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            request = urllib.request.Request(target, headers=headers)
            urllib.request.urlopen(request, timeout=4).close()
        else:
            subprocess.run(target, check=True, timeout=10, capture_output=True)
    except Exception as exc:  # any failure is "unhealthy"; say which
        print(f"healthcheck: {target}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
