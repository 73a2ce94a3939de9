#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine: PostgreSQL and Prometheus from
# apt, and the Python packages into a project virtual environment (.venv). Safe to run again: it
# only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  echo "installing PostgreSQL (apt)"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! command -v runuser >/dev/null; then
  sudo_if_needed apt-get install -y -qq util-linux >/dev/null
fi
# Prometheus and promtool (Debian's package; the daemon it ships is not started here): the
# deployment tests check and unit-test the alert rules with promtool and run a real Prometheus
# against the running services.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "installing Prometheus (apt)"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# Debian's Chromium: the console's browser tests drive it with Playwright (never `playwright
# install`, which downloads a browser of its own and cannot here).
# A CJK font (5 MB), so the pages' screenshots show Chinese rather than boxes.
if ! command -v chromium >/dev/null || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  echo "installing Chromium and a CJK font (apt)"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null
fi

PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "Python 3.11 is required (found $("$PY" --version 2>&1))" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    sudo_if_needed apt-get install -y -qq python3-venv >/dev/null
    rm -rf .venv; "$PY" -m venv .venv
  fi
fi
stamp=.venv/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing Python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
