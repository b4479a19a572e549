#!/bin/sh
# Written by swarmup: keeps dockerd running on hosts without systemd (containers, minimal VMs).
# Each start re-reads /etc/swarmup/dockerd.env, so a new configuration takes effect when dockerd
# is restarted (kill it; this loop starts it again).
while :; do
  DOCKERD_FLAGS=""
  [ -f /etc/swarmup/dockerd.env ] && . /etc/swarmup/dockerd.env
  # shellcheck disable=SC2086
  # By its absolute path, as a service manager starts it: `pgrep -f $(which dockerd)` finds it.
  {{dockerd}} $DOCKERD_FLAGS >>/var/log/swarmup-dockerd.log 2>&1
  echo "swarmup-dockerd-supervise: dockerd exited with $?, restarting" >>/var/log/swarmup-dockerd.log
  sleep 1
done
