# Written by swarmup: (re)start dockerd under swarmup's supervisor on hosts without systemd.
# Sets SUP, PIDF and sup (the supervisor's pid when it runs), as engine-control.ts does.
{{findSupervisor}}
CHANGED={{changed}}
{{stopDockerd}}
if [ -n "$sup" ]; then
  # The supervisor starts dockerd again with the new configuration.
  [ "$CHANGED" = 1 ] && stop_dockerd
else
  # A dockerd not under the supervisor (a package's init script) would hold the socket.
  stop_dockerd
  # A pid file left by a dockerd that died with its container would stop the new one from starting.
  [ -n "$(pidof dockerd || true)" ] || rm -f /var/run/docker.pid
  setsid "$SUP" >/dev/null 2>&1 </dev/null &
  echo $! >"$PIDF"
fi
exit 0
