/**
 * Where SSH (22) and the Docker TLS port (2376) may be reached from when a cloud driver talks to an
 * emulator or private endpoint over plain http: private and loopback ranges. Against a real cloud API
 * the user must name the range; nothing is opened to 0.0.0.0/0 unless they say so.
 */
export const EMULATOR_ADMIN_CIDRS: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
];
