#!/usr/bin/env bash
# A throw-away Slurm cluster on this machine, for the Slurm backend's integration tests
# and for developers. Debian 12, as root.
#
#   scripts/test-slurm.sh start DIR      install slurm-wlm + munge if missing, write a
#                                        munge key and slurm.conf under DIR, start munged,
#                                        slurmctld and slurmd on free ports, wait until the
#                                        node is idle; writes DIR/env (SLURM_CONF=...)
#   scripts/test-slurm.sh start-if-root DIR  as start, after stopping a cluster left under
#                                        DIR; does nothing (exit 0) when not root
#   scripts/test-slurm.sh stop DIR       stop every daemon started under DIR, remove DIR
#   scripts/test-slurm.sh stop-ctld DIR  stop only slurmctld (tests: "controller down")
#   scripts/test-slurm.sh start-ctld DIR start slurmctld again, keeping its state
#   scripts/test-slurm.sh status DIR     exit 0 if the cluster under DIR answers sinfo
#
# Use it from a shell:   . DIR/env; sinfo; sbatch --wrap 'hostname'
#
# The cluster: one node "aifed-n1" (8 CPUs, 4 fake H100s: gres.conf File= points at
# plain files) in two partitions, "gpu" and "cpu". cons_tres, backfill, accounting in
# slurmdbd over its own MariaDB (data under DIR/mysql, TCP on 127.0.0.1 only) with
# GPUs as a TRES, so `sacct` reports allocated GPUs; slurmctld keeps finished jobs for
# MinJobAge = 600 s, so `squeue --json` still knows them; OverTimeLimit=0 and a short
# KillWait so walltime kills are prompt.
#
# Two local users for the identity-mapping tests, created if missing: aifed-alice and
# aifed-bob (homes under /var/tmp/aifed-slurm-homes, reachable by the job), with Slurm
# accounts llm-eu and bio-ai (alice in llm-eu, bob in bio-ai, root in both).
set -euo pipefail

log() { printf '[test-slurm] %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

install_if_missing() {
  local missing=()
  for p in slurm-wlm munge slurmdbd mariadb-server; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pid_of() { [ -f "$1/run/$2.pid" ] && cat "$1/run/$2.pid" 2>/dev/null || true; }

stop_daemon() {
  local dir=$1 name=$2 pid
  pid=$(pid_of "$dir" "$name")
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/run/$name.pid"
}

start_ctld() {
  local dir=$1
  SLURM_CONF="$dir/etc/slurm.conf" slurmctld -f "$dir/etc/slurm.conf" \
    -L "$dir/log/slurmctld.log" -i || die "slurmctld did not start; see $dir/log/slurmctld.log"
  for _ in $(seq 1 100); do
    SLURM_CONF="$dir/etc/slurm.conf" scontrol ping 2>/dev/null | grep -q UP && return 0
    sleep 0.1
  done
  die "slurmctld did not answer; see $dir/log/slurmctld.log"
}

wait_idle() {
  local dir=$1
  for _ in $(seq 1 300); do
    state=$(SLURM_CONF="$dir/etc/slurm.conf" sinfo -h -n aifed-n1 -o '%T' 2>/dev/null | head -1)
    case "$state" in
      idle | mixed | allocated) return 0 ;;
    esac
    sleep 0.1
  done
  die "node aifed-n1 did not become idle (state: ${state:-?}); see $dir/log"
}

# MariaDB for slurmdbd: its own data directory, socket and loopback port.
start_mariadb() {
  local dir=$1 port=$2
  mkdir -p "$dir/mysql" "$dir/run"
  mariadb-install-db --no-defaults --datadir="$dir/mysql" --user=root \
    --auth-root-authentication-method=socket --skip-test-db \
    >"$dir/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed; see $dir/log"
  mariadbd --no-defaults --datadir="$dir/mysql" --socket="$dir/run/mysql.sock" --user=root \
    --bind-address=127.0.0.1 --port="$port" --pid-file="$dir/run/mariadb.pid" \
    --log-error="$dir/log/mariadb.log" --innodb-buffer-pool-size=32M --skip-name-resolve \
    </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 150); do
    mariadb --no-defaults -S "$dir/run/mysql.sock" -u root -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  mariadb --no-defaults -S "$dir/run/mysql.sock" -u root -e "
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'aifedtest';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" ||
    die "MariaDB did not start; see $dir/log/mariadb.log"
}

start_dbd() {
  local dir=$1
  SLURM_CONF="$dir/etc/slurm.conf" slurmdbd || die "slurmdbd did not start; see $dir/log/slurmdbd.log"
  for _ in $(seq 1 100); do
    SLURM_CONF="$dir/etc/slurm.conf" sacctmgr -n list cluster >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "slurmdbd did not answer; see $dir/log/slurmdbd.log"
}

# The test users, their homes and their Slurm associations.
add_users() {
  local dir=$1 homes=/var/tmp/aifed-slurm-homes
  mkdir -p "$homes"
  chmod 755 "$homes"
  for u in aifed-alice aifed-bob; do
    if id -u "$u" >/dev/null 2>&1; then
      [ "$(getent passwd "$u" | cut -d: -f6)" = "$homes/$u" ] || usermod --home "$homes/$u" "$u"
    else
      useradd --no-create-home --home-dir "$homes/$u" --shell /bin/bash "$u" ||
        die "cannot create user $u"
    fi
    mkdir -p "$homes/$u"
    chown "$u:" "$homes/$u"
    chmod 750 "$homes/$u"
  done
  local mgr=(env SLURM_CONF="$dir/etc/slurm.conf" sacctmgr -i)
  "${mgr[@]}" add cluster aifedtest >/dev/null
  "${mgr[@]}" add account llm-eu,bio-ai cluster=aifedtest >/dev/null
  "${mgr[@]}" add user aifed-alice account=llm-eu cluster=aifedtest >/dev/null
  "${mgr[@]}" add user aifed-bob account=bio-ai cluster=aifedtest >/dev/null
  "${mgr[@]}" add user root account=llm-eu,bio-ai cluster=aifedtest >/dev/null
}

start() {
  local dir=$1
  [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd runs jobs as their owner)"
  install_if_missing
  mkdir -p "$dir"/{etc,run,log,state,spool/aifed-n1,munge,gres,jobs}
  dir=$(readlink -f "$dir")
  chmod 755 "$dir"

  # munge: its own key and socket, so a system munged (if any) is left alone.
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 700 "$dir/munge"
  chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  chmod 755 "$dir/munge"  # clients need to reach the socket

  for i in 0 1 2 3; do : >"$dir/gres/gpu$i"; done
  local ctld_port slurmd_port
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
  local dbd_port db_port
  dbd_port=$(free_port)
  db_port=$(free_port)

  cat >"$dir/etc/slurm.conf" <<EOF
# Written by scripts/test-slurm.sh: a one-node test cluster under $dir.
ClusterName=aifedtest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$dbd_port
AccountingStorageTRES=gres/gpu
AccountingStoragePass=$dir/munge/munge.sock
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
OverTimeLimit=0
KillWait=2
InactiveLimit=0
MessageTimeout=5
SlurmdTimeout=30
SlurmctldTimeout=30
SchedulerParameters=bf_interval=1
MpiDefault=none
EnforcePartLimits=ALL
NodeName=aifed-n1 NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=8 RealMemory=4096 Gres=gpu:h100:4 State=UNKNOWN
PartitionName=gpu Nodes=aifed-n1 Default=YES MaxTime=1-00:00:00 State=UP
PartitionName=cpu Nodes=aifed-n1 MaxTime=INFINITE State=UP
EOF
  cat >"$dir/etc/slurmdbd.conf" <<EOF
# Written by scripts/test-slurm.sh: accounting for the test cluster under $dir.
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
DbdHost=localhost
DbdPort=$dbd_port
SlurmUser=root
PidFile=$dir/run/slurmdbd.pid
LogFile=$dir/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=slurm
StoragePass=aifedtest
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$dir/etc/slurmdbd.conf"
  cat >"$dir/etc/gres.conf" <<EOF
NodeName=aifed-n1 Name=gpu Type=h100 File=$dir/gres/gpu[0-3]
EOF
  cat >"$dir/etc/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainDevices=no
ConstrainRAMSpace=no
EOF
  echo "SLURM_CONF=$dir/etc/slurm.conf" >"$dir/env.tmp"
  echo "export SLURM_CONF" >>"$dir/env.tmp"

  start_mariadb "$dir" "$db_port"
  start_dbd "$dir"
  add_users "$dir"
  start_ctld "$dir"
  SLURM_CONF="$dir/etc/slurm.conf" slurmd -f "$dir/etc/slurm.conf" -N aifed-n1 \
    -L "$dir/log/slurmd.log" || die "slurmd did not start; see $dir/log/slurmd.log"
  wait_idle "$dir"
  mv "$dir/env.tmp" "$dir/env"
  log "Slurm is up under $dir (slurmctld port $ctld_port); . $dir/env to use it"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  # Jobs first, so no job process outlives the cluster.
  if [ -f "$dir/etc/slurm.conf" ]; then
    for u in root aifed-alice aifed-bob; do
      SLURM_CONF="$dir/etc/slurm.conf" timeout 10 scancel --full --quiet -u "$u" 2>/dev/null || true
    done
  fi
  stop_daemon "$dir" slurmd
  stop_daemon "$dir" slurmctld
  stop_daemon "$dir" slurmdbd
  stop_daemon "$dir" mariadb
  stop_daemon "$dir" munged
  rm -rf "$dir"
  log "stopped and removed $dir"
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}
case "$cmd" in
  start) start "$dir" ;;
  start-if-root)
    # For CTest's fixture: without root the Slurm tests skip themselves, with a message.
    if [ "$(id -u)" -ne 0 ]; then
      log "not root: no test Slurm (the Slurm integration tests will skip)"
      exit 0
    fi
    stop "$dir"
    start "$dir"
    ;;
  stop) stop "$dir" ;;
  stop-ctld) stop_daemon "$dir" slurmctld ;;
  start-ctld) start_ctld "$dir" ;;
  status) SLURM_CONF="$dir/etc/slurm.conf" timeout 10 sinfo -h >/dev/null 2>&1 ;;
  *) die "unknown command $cmd (start, stop, stop-ctld, start-ctld, status)" ;;
esac
