#!/usr/bin/env bash
# Start a one-node Slurm cluster on localhost with fake GPUs, for testing profiles/slurm for real.
#
#   tests/slurm/start_cluster.sh [--partitions cpu,gpu] [--gpu-types a100] [--gpus 1] STATE_DIR
#   source STATE_DIR/env.sh        # exports SLURM_CONF: sbatch/squeue/scontrol now talk to it
#   tests/slurm/stop_cluster.sh STATE_DIR
#
# - Installs Debian's slurm-wlm and munge with apt-get only when their binaries are missing (root).
# - Everything it writes lives in STATE_DIR: slurm.conf, gres.conf, a private munge key and socket,
#   spool/state directories, logs and the pid files of the three daemons it starts (munged,
#   slurmctld, slurmd). stop_cluster.sh stops exactly those PIDs. The one thing outside it is a
#   symlink /etc/slurm/slurm.conf -> STATE_DIR/slurm.conf (job steps need the default path); it is
#   only made where no slurm.conf exists, or where the one there is the link of a test cluster whose
#   daemons are all gone (never stopped: its machine or session ended first), and stop_cluster.sh
#   removes it. A site's own munged is left alone.
# - Partitions: every name given, all on the one node; the first is the default partition.
# - GPUs: gres gpu:TYPE:N for each type (fake devices; jobs see CUDA_VISIBLE_DEVICES only).
# - Idempotent: when the daemons recorded in STATE_DIR are alive and answer, it does nothing.
# - Ports: SLURMCTLD_PORT / SLURMD_PORT (defaults 6817 / 6818).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PARTITIONS="debug"
GPU_TYPES="a100"
GPUS=1
CPUS="$(nproc)"
MEMORY_MB=64000
CTLD_PORT="${SLURMCTLD_PORT:-6817}"
SLURMD_PORT="${SLURMD_PORT:-6818}"
STATE=""

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --gpu-types) GPU_TYPES="$2"; shift 2 ;;
        --gpus) GPUS="$2"; shift 2 ;;
        --cpus) CPUS="$2"; shift 2 ;;
        --memory-mb) MEMORY_MB="$2"; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "start_cluster.sh: unknown option $1" >&2; usage ;;
        *) [[ -z "$STATE" ]] || usage; STATE="$1"; shift ;;
    esac
done
[[ -n "$STATE" ]] || usage
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"

log() { echo "[start_cluster] $*" >&2; }
die() {
    log "ERROR: $*"
    for f in "$STATE"/log/*.log "$STATE"/munge/*.log; do
        [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}

alive() {  # alive NAME [DIR]: the pid file DIR/NAME.pid (DIR defaults to STATE) names a running NAME
    local pidfile="${2:-$STATE}/$1.pid" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(tr -dc 0-9 < "$pidfile")"
    [[ -n "$pid" && -r "/proc/$pid/comm" ]] || return 1
    [[ "$(cat "/proc/$pid/comm")" == "$1"* ]] || return 1
    local stat
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z && "${stat%% *}" != X ]]   # not a zombie
}

# --- install (only when something is missing) --------------------------------------------------
need_install=0
for bin in munged slurmctld slurmd sbatch squeue scontrol srun sinfo; do
    command -v "$bin" >/dev/null 2>&1 || [[ -x "/usr/sbin/$bin" ]] || need_install=1
done
if [[ $need_install == 1 ]]; then
    [[ $(id -u) == 0 ]] || die "slurm-wlm/munge are not installed and this is not root"
    command -v apt-get >/dev/null || die "slurm-wlm/munge are not installed and there is no apt-get"
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends slurm-wlm munge >&2 || die "apt-get install failed"
fi
[[ $(id -u) == 0 ]] || die "the test cluster runs its daemons as root (SlurmUser=root)"
export PATH="$PATH:/usr/sbin:/sbin"
id munge >/dev/null 2>&1 || die "no munge user (is the munge package installed?)"

# --- already running? ---------------------------------------------------------------------------
cat > "$STATE/env.sh" <<EOF
export SLURM_CONF="$STATE/slurm.conf"
EOF
export SLURM_CONF="$STATE/slurm.conf"
if alive munged && alive slurmctld && alive slurmd && scontrol ping >/dev/null 2>&1; then
    log "already running (state in $STATE)"
    echo "$STATE/env.sh"
    exit 0
fi
# A partial cluster from an earlier start: stop what it recorded, then start afresh.
"$HERE/stop_cluster.sh" "$STATE" >&2 || true

# --- configuration -------------------------------------------------------------------------------
rm -rf "$STATE/slurmctld" "$STATE/slurmd" "$STATE/munge" "$STATE/gpu"
mkdir -p "$STATE/slurmctld" "$STATE/slurmd" "$STATE/log" "$STATE/munge" "$STATE/gpu"

partition_lines=""
default="YES"
IFS=',' read -r -a parts <<< "$PARTITIONS"
for p in "${parts[@]}"; do
    [[ -n "$p" ]] || continue
    partition_lines+="PartitionName=$p Nodes=localhost Default=$default MaxTime=INFINITE State=UP"$'\n'
    default="NO"
done
[[ -n "$partition_lines" ]] || die "no partition given"

node_gres=""
gres_lines=""
IFS=',' read -r -a types <<< "$GPU_TYPES"
for t in "${types[@]}"; do
    [[ -n "$t" ]] || continue
    files=()
    for ((i = 0; i < GPUS; i++)); do
        # A character device per fake GPU (same numbers as /dev/null); Slurm only needs distinct files.
        dev="$STATE/gpu/$t-$i"
        mknod "$dev" c 1 3 2>/dev/null || touch "$dev"
        files+=("$dev")
    done
    node_gres+="${node_gres:+,}gpu:$t:$GPUS"
    gres_lines+="NodeName=localhost Name=gpu Type=$t File=$(IFS=,; echo "${files[*]}")"$'\n'
done
[[ -n "$node_gres" ]] || node_gres="(null)"

render() {  # render TEMPLATE > FILE: replace @KEY@ placeholders
    local text
    text="$(cat "$1")"
    text="${text//@STATE@/$STATE}"
    text="${text//@CTLD_PORT@/$CTLD_PORT}"
    text="${text//@SLURMD_PORT@/$SLURMD_PORT}"
    text="${text//@CPUS@/$CPUS}"
    text="${text//@MEMORY_MB@/$MEMORY_MB}"
    text="${text//@NODE_GRES@/$node_gres}"
    text="${text//@PARTITIONS@/$partition_lines}"
    text="${text//@GRES_LINES@/$gres_lines}"
    printf '%s\n' "$text"
}
render "$HERE/slurm.conf.in" > "$STATE/slurm.conf"
render "$HERE/gres.conf.in" > "$STATE/gres.conf"   # read from the directory of slurm.conf

# Inside a job, the slurm executor plugin runs `srun` with every SLURM_* variable removed,
# SLURM_CONF included, so commands on the node must find the configuration at the compiled-in
# default path, as on a real cluster. Link it there unless something else is already there.
SYSCONF=/etc/slurm/slurm.conf
stale_test_link() {  # SYSCONF links to another test cluster's state whose daemons are all gone
    [[ -L "$SYSCONF" ]] || return 1
    local other
    other="$(dirname "$(readlink "$SYSCONF")")"
    [[ "$(cat "$other/linked-sysconf" 2>/dev/null)" == "$SYSCONF" ]] || return 1
    ! alive munged "$other" && ! alive slurmctld "$other" && ! alive slurmd "$other"
}
if [[ -L "$SYSCONF" && "$(readlink "$SYSCONF")" == "$STATE/slurm.conf" ]]; then
    :
elif stale_test_link; then
    # A test cluster that was never stopped (its machine or session ended first) left its link.
    log "replacing the link a stopped test cluster left: $SYSCONF -> $(readlink "$SYSCONF")"
    ln -sfn "$STATE/slurm.conf" "$SYSCONF"
elif [[ -e "$SYSCONF" ]]; then
    die "$SYSCONF already exists (a real or another test cluster): not replacing it"
else
    # Nothing there, or a dangling link left by a test cluster whose state directory is gone.
    mkdir -p "$(dirname "$SYSCONF")"
    ln -sfn "$STATE/slurm.conf" "$SYSCONF"
fi
echo "$SYSCONF" > "$STATE/linked-sysconf"

# --- munged (private key, socket, pid file; runs as the munge user) -----------------------------
# munged wants its key private and its socket directory reachable by everyone (the directories
# above STATE_DIR too: give a STATE_DIR under /tmp, not under a 0700 directory).
mkdir -p "$STATE/munge/key"
if [[ -r /etc/munge/munge.key ]]; then
    cp /etc/munge/munge.key "$STATE/munge/key/munge.key"
else
    dd if=/dev/urandom of="$STATE/munge/key/munge.key" bs=1 count=1024 status=none
fi
chown -R munge:munge "$STATE/munge"
chmod 755 "$STATE/munge"
chmod 700 "$STATE/munge/key"
chmod 600 "$STATE/munge/key/munge.key"
runuser -u munge -- munged \
    --socket="$STATE/munge/munge.socket" \
    --key-file="$STATE/munge/key/munge.key" \
    --pid-file="$STATE/munge/munged.pid" \
    --log-file="$STATE/munge/munged.log" \
    --seed-file="$STATE/munge/munged.seed" \
    || die "munged did not start (see $STATE/munge/munged.log)"
for _ in $(seq 50); do [[ -s "$STATE/munge/munged.pid" ]] && break; sleep 0.1; done
cp "$STATE/munge/munged.pid" "$STATE/munged.pid"
alive munged || die "munged is not running"

# --- slurmctld, slurmd ---------------------------------------------------------------------------
slurmctld -c -f "$STATE/slurm.conf" || die "slurmctld did not start"
for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
alive slurmctld || die "slurmctld is not running"
scontrol ping >/dev/null 2>&1 || die "slurmctld does not answer"
# -N: the machine's hostname differs from the node name in slurm.conf.
slurmd -N localhost -f "$STATE/slurm.conf" || die "slurmd did not start"

state=""
for _ in $(seq 150); do
    state="$(sinfo -h -n localhost -o %T 2>/dev/null | head -n 1)"
    [[ "$state" == idle* || "$state" == mixed* || "$state" == allocated* ]] && break
    sleep 0.2
done
alive slurmd || die "slurmd is not running"
[[ "$state" == idle* || "$state" == mixed* || "$state" == allocated* ]] \
    || die "node localhost is '$state', not idle"
log "up: partitions $PARTITIONS, gres $node_gres, SLURM_CONF=$STATE/slurm.conf"
echo "$STATE/env.sh"
