# Written by swarmup: on a host's first provisioning, note what it had before swarmup touched it, so
# that "cluster down" gives it back as it was (see src/provision/origin.ts). Never rewritten.
set -e
ORIGIN={{originFile}}
if [ ! -f "$ORIGIN" ]; then
  mkdir -p "$(dirname "$ORIGIN")"
  if [ -d {{oldCertDir}} ] || [ -f {{systemdOverride}} ] || [ -f {{dockerdEnv}} ]; then
    # Provisioned by a swarmup that kept no origin: what was there before is not known.
    printf 'engine=unknown\nrunning=yes\ndaemon-json=unknown\n' >"$ORIGIN.tmp"
  else
    if command -v dockerd >/dev/null 2>&1; then engine=adopted; else engine=installed; fi
    if pidof dockerd >/dev/null 2>&1; then running=yes; else running=no; fi
    if [ -f {{daemonJson}} ]; then
      cp -p {{daemonJson}} {{daemonJsonOrig}}
      dj=saved
    else
      dj=none
    fi
    # TLS files of the host's own (docker-machine kept them where swarmup writes its own): saved aside.
    for f in {{certFiles}}; do
      if [ -f "$f" ]; then
        mkdir -p {{certsOrig}}
        cp -p "$f" {{certsOrig}}/
      fi
    done
    printf 'engine=%s\nrunning=%s\ndaemon-json=%s\n' "$engine" "$running" "$dj" >"$ORIGIN.tmp"
  fi
  mv -f "$ORIGIN.tmp" "$ORIGIN"
fi
cat "$ORIGIN"
