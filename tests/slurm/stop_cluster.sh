#!/usr/bin/env bash
# Stop the test cluster that tests/slurm/start_cluster.sh started in STATE_DIR.
#
#   tests/slurm/stop_cluster.sh STATE_DIR
#
# Cancels the cluster's jobs, then stops exactly the daemons whose PIDs are recorded in STATE_DIR
# (slurmd, slurmctld, munged, in that order): SIGTERM, wait up to 20 s, then SIGKILL and wait.
# Job steps that outlived a dead slurmd (slurmstepd whose environment names this cluster's
# SLURM_CONF) are killed with their process trees. Then removes the /etc/slurm/slurm.conf symlink
# that start_cluster.sh made (if it points here).
# A PID whose process is gone or has another name (reused) is skipped, never signalled.
# Exits non-zero if one of them is still alive at the end.
set -uo pipefail

STATE="${1:?usage: stop_cluster.sh STATE_DIR}"
[[ -d "$STATE" ]] || exit 0
STATE="$(cd "$STATE" && pwd)"
export PATH="$PATH:/usr/sbin:/sbin"
export SLURM_CONF="$STATE/slurm.conf"

log() { echo "[stop_cluster] $*" >&2; }

ours() {  # ours NAME: print the recorded PID if it is alive and still NAME
    local pidfile="$STATE/$1.pid" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(tr -dc 0-9 < "$pidfile")"
    [[ -n "$pid" && -r "/proc/$pid/comm" ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$1"* ]] || return 1
    gone "$pid" && return 1
    echo "$pid"
}

gone() {  # gone PID: the process has exited (a zombie nobody reaps counts as exited)
    [[ -r "/proc/$1/stat" ]] || return 0
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    [[ "${stat%% *}" == Z || "${stat%% *}" == X ]]
}

# Jobs first, while slurmctld and slurmd can still end them (their slurmstepd are not our PIDs).
if ours slurmctld >/dev/null && [[ -f "$SLURM_CONF" ]]; then
    active="PENDING,RUNNING,COMPLETING,CONFIGURING,SUSPENDED"
    jobs="$(timeout 10 squeue -h -o %i -t "$active" 2>/dev/null)"
    if [[ -n "$jobs" ]]; then
        log "cancelling jobs: $(echo $jobs)"
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 100); do
            [[ -z "$(timeout 10 squeue -h -o %i -t "$active" 2>/dev/null)" ]] && break
            sleep 0.2
        done
    fi
fi

status=0
for name in slurmd slurmctld munged; do
    pid="$(ours "$name")" || { rm -f "$STATE/$name.pid"; continue; }
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 200); do
        gone "$pid" && break
        sleep 0.1
    done
    if ! gone "$pid"; then
        log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        for _ in $(seq 50); do
            gone "$pid" && break
            sleep 0.1
        done
    fi
    if ! gone "$pid"; then
        log "ERROR: $name (pid $pid) is still running"
        status=1
    else
        rm -f "$STATE/$name.pid"
    fi
done

# Job steps that outlived their slurmd (it died before it could end them): slurmstepd processes
# started by this cluster (their environment names this SLURM_CONF), with their process trees.
tree() {  # tree PID: PID and all its descendants, children first
    local child
    for child in $(awk -v p="$1" '{ sub(/^.*\) /, ""); if ($2 == p) print FILENAME }' /proc/[0-9]*/stat 2>/dev/null \
                   | cut -d/ -f3); do
        tree "$child"
    done
    echo "$1"
}
for comm in /proc/[0-9]*/comm; do
    [[ "$(cat "$comm" 2>/dev/null)" == slurmstepd ]] || continue
    stepd="${comm#/proc/}"
    stepd="${stepd%/comm}"
    gone "$stepd" && continue
    if { tr '\0' '\n' < "/proc/$stepd/environ"; } 2>/dev/null | grep -qx "SLURM_CONF=$SLURM_CONF"; then
        pids="$(tree "$stepd")"
        log "killing leftover job step processes: $(echo $pids)"
        kill -KILL $pids 2>/dev/null
    fi
done

# The /etc/slurm/slurm.conf link, if start_cluster.sh made it and it still points here.
if [[ -s "$STATE/linked-sysconf" ]]; then
    link="$(cat "$STATE/linked-sysconf")"
    if [[ -L "$link" && "$(readlink "$link")" == "$STATE/slurm.conf" ]]; then
        rm -f "$link"
    fi
    rm -f "$STATE/linked-sysconf"
fi
exit $status
