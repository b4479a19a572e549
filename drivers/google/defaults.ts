/** Defaults of the google driver (kept apart so that the flag list and the settings load nothing else). */
export const GOOGLE_DEFAULTS = {
  zone: 'us-central1-a',
  machineType: 'e2-small',
  machineImage: 'projects/debian-cloud/global/images/family/debian-12',
  username: 'docker-user',
  scopes: [
    'https://www.googleapis.com/auth/devstorage.read_only',
    'https://www.googleapis.com/auth/logging.write',
  ],
  diskSize: 10,
  diskType: 'pd-standard',
  network: 'default',
} as const;
