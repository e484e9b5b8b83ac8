#!/usr/bin/env bash
# Makes sure the PostgreSQL tests have a server, and says which (one line on stderr).
# Prints on stdout the EVENTFOLD_PG_URL to use and, for a server it started, a second line:
# the command that stops it. The server is:
# - the one in EVENTFOLD_PG_URL, or the machine's (postgres://postgres@127.0.0.1:5432/test),
#   if it answers;
# - else a throwaway server: initdb into a temp directory and pg_ctl start on a free port,
#   from Debian's binaries (.ci/run stops it when it exits).
set -euo pipefail
url="${EVENTFOLD_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
if psql "$url" -Atqc "select 1" >/dev/null 2>&1; then
  echo "postgres: using the running server at ${url}" >&2
  echo "$url"
  exit 0
fi
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "postgres: no server at ${url} and no Debian PostgreSQL binaries to start one" >&2; exit 1; }
dir="$(mktemp -d /tmp/eventfold-pg-XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
owner=""
if [ "$(id -u)" = 0 ]; then owner="postgres"; chown postgres "$dir"; fi
run() { if [ -n "$owner" ]; then su "$owner" -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
run "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 >'$dir/initdb.log' 2>&1"
run "'$bin/pg_ctl' -D '$dir/data' -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1\" -l '$dir/server.log' -w start >/dev/null"
run "'$bin/createdb' -h 127.0.0.1 -p $port -U postgres test"
echo "postgres: none at ${url}; started a throwaway server (${bin}, port ${port}, data in ${dir})" >&2
echo "postgres://postgres@127.0.0.1:${port}/test"
if [ -n "$owner" ]; then echo "su $owner -s /bin/sh -c '$bin/pg_ctl -D $dir/data -m fast stop'"; else echo "$bin/pg_ctl -D $dir/data -m fast stop"; fi
