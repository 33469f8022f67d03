# Sourced by bin/run and bin/test: a virtual environment in .venv with the pinned requirements.
# Usage: . bin/_venv.sh REQUIREMENTS_FILE
requirements="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(basename "$requirements")-$(cat requirements*.txt | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  touch "$stamp"
fi
# shellcheck disable=SC1091
. .venv/bin/activate
