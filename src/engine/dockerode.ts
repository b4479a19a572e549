/**
 * dockerode clients made from the options given and nothing else. docker-modem computes its defaults
 * from the environment in every constructor, whatever the options say: with DOCKER_CERT_PATH set it
 * reads ca.pem, cert.pem and key.pem there, so a shell pointed at a machine that is gone (after
 * `eval "$(swarmup env NAME)"` and `rm NAME`) would fail every client with ENOENT, and DOCKER_HOST's
 * path prefix or DOCKER_CLIENT_TIMEOUT would leak into clients of other engines.
 */
import Docker from 'dockerode';

const ENV_KEYS = [
  'DOCKER_HOST',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
  'DOCKER_CLIENT_TIMEOUT',
  'DOCKER_PATH_PREFIX',
];

export function dockerClient(options: Docker.DockerOptions): Docker {
  const saved = ENV_KEYS.map((k) => [k, process.env[k]] as const);
  for (const k of ENV_KEYS) delete process.env[k];
  try {
    // Synchronous: nothing else runs while the variables are away.
    return new Docker(options);
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}
