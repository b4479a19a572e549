# Written by swarmup: apply the engine configuration under systemd.
set -e
if [ "{{changed}}" = 1 ]; then
  systemctl daemon-reload
  systemctl enable docker >/dev/null 2>&1 || true
  systemctl restart docker
else
  systemctl is-active --quiet docker || systemctl start docker
fi
