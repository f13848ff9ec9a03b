#!/usr/bin/env bash
# Start a member in the foreground: bin/grid-member.sh conf/member.properties [--commands]
#
# It prints "READY <driver directory>" once it has joined and runs until SIGTERM or SIGINT, then leaves the cluster
# cleanly. Relative paths in the configuration file are relative to GRID_HOME. Its log goes to
# $GRID_LOG_DIR/<member id>.log (rolling, conf/logback.xml), its GC log to <member id>-gc.log beside it (characters
# of the id other than letters, digits, '.', '_' and '-' become '_').
#
# Environment:
#   GRID_HEAP        heap size, -Xms and -Xmx (default 1g)
#   GRID_LOG_DIR     where logs go (default $GRID_HOME/logs)
#   GRID_LOG_CONSOLE 1: log to standard output instead (conf/logback-console.xml), as containers want
#   GRID_JMX_PORT    serve JMX (JConsole, VisualVM) on 127.0.0.1:PORT, without authentication: local use only
#   GRID_OPTS        more JVM options
#   GRID_CONF_<KEY>  override a key of the configuration file: GRID_CONF_CLIENT_PORT=10801 sets client.port
set -euo pipefail
source "$(dirname "$0")/common.sh"
if [ $# -lt 1 ]; then
  echo "usage: $0 <member.properties> [--commands]" >&2
  exit 2
fi
conf="$1"
shift
if [ ! -r "$conf" ]; then
  echo "cannot read configuration file $conf" >&2
  exit 2
fi
conf="$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")"
member_id="${GRID_CONF_MEMBER_ID:-$(sed -n -E 's/^[[:space:]]*member\.id[[:space:]]*[=:][[:space:]]*([^[:space:]]+).*/\1/p' "$conf" | tail -1)}"
if [ -z "$member_id" ]; then
  echo "$conf has no member.id" >&2
  exit 2
fi
# A member id may hold characters a file name or -Xlog's syntax cannot (':'): file names use a safe form of it.
log_name="$(printf '%s' "$member_id" | tr -c 'A-Za-z0-9._-' '_')"
log_dir="${GRID_LOG_DIR:-$GRID_HOME/logs}"
mkdir -p "$log_dir"
log_dir="$(cd "$log_dir" && pwd)"
# Relative paths in the configuration (data.directory) are relative to GRID_HOME.
cd "$GRID_HOME"
heap="${GRID_HEAP:-1g}"
logback="$GRID_HOME/conf/logback.xml"
[ "${GRID_LOG_CONSOLE:-0}" = 1 ] && logback="$GRID_HOME/conf/logback-console.xml"
jmx=()
if [ -n "${GRID_JMX_PORT:-}" ]; then
  jmx=(-Dcom.sun.management.jmxremote.port="$GRID_JMX_PORT" -Dcom.sun.management.jmxremote.rmi.port="$GRID_JMX_PORT"
    -Dcom.sun.management.jmxremote.host=127.0.0.1 -Djava.rmi.server.hostname=127.0.0.1
    -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false)
fi
# shellcheck disable=SC2086
exec "$JAVA" -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
  -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="$log_dir" \
  "-Xlog:gc*,safepoint:file=$log_dir/$log_name-gc.log:time,uptime,level,tags:filecount=5,filesize=20m" \
  "${GRID_JVM_FLAGS[@]}" ${jmx[@]+"${jmx[@]}"} \
  -Dlogback.configurationFile="$logback" -Dgrid.log.dir="$log_dir" -Dgrid.member.id="$log_name" \
  ${GRID_OPTS:-} -cp "$GRID_CLASSPATH" dev.grid.node.Main "$conf" "$@"
