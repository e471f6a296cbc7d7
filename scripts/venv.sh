# Sourced by run.sh and test.sh: create .venv on first use and install the
# pinned requirements whenever requirements.txt changes.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
wanted=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements.txt
  echo "$wanted" > "$stamp"
fi
