# Sourced by the other scripts: a virtual environment in .venv, installed from a hashed lock file
# (requirements/runtime.txt or requirements/dev.txt) and reinstalled only when the lock changes.
# Usage: . scripts/_venv.sh runtime|dev
set -euo pipefail

_lock="requirements/${1:?runtime or dev}.txt"
_python="${PYTHON:-python3}"
_venv="${IPPC_VENV:-.venv}"

if ! "$_python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python 3.11 or newer is needed (set PYTHON to another interpreter)" >&2
    exit 1
fi
if [ ! -x "$_venv/bin/python" ]; then
    "$_python" -m venv "$_venv"
fi
_wanted="$(cat "$_lock" pyproject.toml | sha256sum | cut -c1-64)"
_stamp="$_venv/.installed-$1"
if [ "$(cat "$_stamp" 2>/dev/null)" != "$_wanted" ]; then
    echo "installing $_lock into $_venv ..." >&2
    "$_venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$_lock"
    "$_venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
    rm -f "$_venv"/.installed-*
    echo "$_wanted" > "$_stamp"
fi
export PATH="$PWD/$_venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/$_venv"
