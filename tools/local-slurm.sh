#!/usr/bin/env bash
# A single-node SLURM on this machine, for the cluster tests: install (Debian packages), start, stop.
#   tools/local-slurm.sh install   apt-get install slurmctld slurmd slurm-client munge (root)
#   tools/local-slurm.sh start     write a config (2 fake GPUs as gres), start munged, slurmctld, slurmd
#   tools/local-slurm.sh stop      stop the daemons
# Runs as root without systemd or cgroups: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none,
# no accounting. The fake GPUs are character devices made with mknod under /var/lib/fakegpu, declared in gres.conf.
set -euo pipefail
CONF=/etc/slurm
STATE=/var/lib/slurm-local
action=${1:-start}

install() {
  command -v slurmctld >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
}

start() {
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  mkdir -p "$CONF" "$STATE"/{ctld,d,log} /var/lib/fakegpu /run/munge /var/log/munge /etc/munge
  for i in 0 1; do  # slurmd accepts only character devices as gres files
    [ -c /var/lib/fakegpu/nvidia$i ] || { rm -f /var/lib/fakegpu/nvidia$i; mknod /var/lib/fakegpu/nvidia$i c 195 $i; }
  done
  cat > "$CONF/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
MinJobAge=86400
KillWait=10
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  printf 'NodeName=%s Name=gpu File=/var/lib/fakegpu/nvidia[0-1]\n' "$host" > "$CONF/gres.conf"
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown -R munge:munge /etc/munge /run/munge /var/log/munge 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 30); do
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && { scontrol update nodename="$host" state=resume 2>/dev/null || true; return 0; }
    sleep 1
  done
  echo "local SLURM did not come up; see $STATE/log" >&2
  return 1
}

stop() {
  for daemon in slurmd slurmctld munged; do
    pkill -x "$daemon" || true
    for _ in $(seq 20); do pgrep -x "$daemon" >/dev/null || break; sleep 0.5; done
  done
}

case $action in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
