# Written by swarmup: give a host back ("cluster down" of a cluster of existing hosts). Removes only
# what swarmup installed: its TLS certificates (the host's own put back), its engine settings (systemd drop-in, or supervisor and
# its environment file) and its daemon.json (the host's own is put back). The engine itself: stopped
# when swarmup installed it; when it was there before, left as it was (running with its own
# configuration, its images and containers kept, or stopped).
# Sets SUP, PIDF and sup (the supervisor's pid when it runs), as engine-control.ts does.
{{findSupervisor}}
ENGINE={{engine}}
RUNNING={{running}}
DAEMON_JSON={{daemonJsonMode}}
{{stopDockerd}}
if [ -d /run/systemd/system ]; then
  rm -f {{systemdOverride}}
  rmdir {{systemdOverrideDir}} 2>/dev/null || true
  systemctl daemon-reload
else
  [ -n "$sup" ] && kill "$sup" 2>/dev/null || true
  rm -f "$PIDF"
  stop_dockerd
  rm -f "$SUP" {{dockerdEnv}} /var/log/swarmup-dockerd.log
fi
rm -rf {{oldCertDir}}
rm -f {{certFiles}}
# The host's own TLS files, if it had some where swarmup wrote its own, go back.
if [ -d {{certsOrig}} ]; then cp -p {{certsOrig}}/* {{certDir}}/; fi
case $DAEMON_JSON in
  saved) mv -f {{daemonJsonOrig}} {{daemonJson}} ;;
  none) rm -f {{daemonJson}} ;;
esac
if [ "$ENGINE" = installed ] || [ "$RUNNING" = no ]; then
  if [ -d /run/systemd/system ]; then systemctl stop docker.service docker.socket 2>/dev/null || true; fi
  echo "engine=stopped"
elif [ -d /run/systemd/system ]; then
  systemctl restart docker
  echo "engine=running"
else
  # No service manager: start the host's own dockerd again, with its own configuration.
  rm -f /var/run/docker.pid
  setsid dockerd </dev/null >>/var/log/dockerd.log 2>&1 &
  i=0
  until docker version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then echo "dockerd did not start again within 30 s; see /var/log/dockerd.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "engine=running"
fi
rm -rf {{swarmupDir}}
