#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or explain what to install and fail.
# pathmodels needs Python >= 3.12 (PyMC 6, ArviZ 1, numpy 2.5); on these machines the
# default python3 is 3.11 and 3.12 lives under pyenv.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
candidates=(python3.13 python3.12)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for d in "$root"/versions/3.1[2-9]*/bin/python "$root"/versions/3.[2-9][0-9]*/bin/python; do
    [ -x "$d" ] && candidates+=("$d")
  done
fi
for d in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
  [ -x "$d" ] && candidates+=("$d")
done
candidates+=(python3 python)
for c in "${candidates[@]}"; do
  p=$(command -v "$c" 2>/dev/null || true)
  [ -n "$p" ] || continue
  # pyenv shims exist for versions that are not installed: ask the interpreter itself.
  if ok "$p"; then
    "$p" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "pathmodels needs Python >= 3.12 and none was found." >&2
echo "Install one, e.g. 'pyenv install 3.12' or 'apt-get install python3.12' (Debian trixie)," >&2
echo "or 'uv python install 3.12', then run this again." >&2
exit 1
