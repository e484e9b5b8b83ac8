#!/usr/bin/env bash
# Makes sure the replication tests have NATS, and says what it did (lines on stderr).
# The failover tests start their own three-node cluster, so the nats-server binary must be
# there: if it is not, it is installed from Debian's packages (apt-get install nats-server).
# Prints on stdout the EVENTFOLD_NATS_URL to use and, for a server it started, a second
# line: the command that stops it. The server is:
# - the one in EVENTFOLD_NATS_URL, or the machine's (nats://127.0.0.1:4222), if it answers
#   with JetStream enabled;
# - else a throwaway `nats-server -js` on a free port, its data in a temp directory.
set -euo pipefail
binary="$(command -v nats-server || true)"
[ -z "$binary" ] && [ -x /usr/sbin/nats-server ] && binary=/usr/sbin/nats-server
if [ -z "$binary" ]; then
  echo "nats: no nats-server binary; installing Debian's (apt-get install nats-server)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq nats-server >&2 || { apt-get update -qq >&2 && apt-get install -y -qq nats-server >&2; }
  else sudo apt-get install -y -qq nats-server >&2 || { sudo apt-get update -qq >&2 && sudo apt-get install -y -qq nats-server >&2; }; fi
  binary="$(command -v nats-server || echo /usr/sbin/nats-server)"
fi
url="${EVENTFOLD_NATS_URL:-nats://127.0.0.1:4222}"
hostport="${url#nats://}"
host="${hostport%%:*}"
port="${hostport##*:}"
# A NATS server greets with an INFO line; it says whether JetStream is on.
if info="$(timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port && read -r line <&3 && echo \"\$line\"" 2>/dev/null)" && [[ "$info" == INFO* ]] && [[ "$info" == *'"jetstream":true'* ]]; then
  echo "nats: using the running server at ${url} (JetStream on); nats-server binary ${binary} for the cluster tests" >&2
  echo "$url"
  exit 0
fi
dir="$(mktemp -d /tmp/eventfold-nats-XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
nohup "$binary" -js -a 127.0.0.1 -p "$port" -sd "$dir/store" >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
echo "nats: none with JetStream at ${url}; started a throwaway server (${binary} -js, port ${port}, data in ${dir})" >&2
echo "nats://127.0.0.1:${port}"
echo "kill $pid; rm -rf $dir"
