/** Fields of /etc/os-release that provisioning needs. */
export interface OsRelease {
  ID: string;
  ID_LIKE: string[];
  VERSION_ID?: string;
  PRETTY_NAME: string;
}

export function parseOsRelease(text: string): OsRelease {
  const kv: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) kv[m[1]] = m[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return {
    ID: kv.ID ?? 'linux',
    ID_LIKE: (kv.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
    VERSION_ID: kv.VERSION_ID,
    PRETTY_NAME: kv.PRETTY_NAME ?? kv.ID ?? 'Linux',
  };
}

export function isDebianLike(os: OsRelease): boolean {
  return (
    os.ID === 'debian' || os.ID === 'ubuntu' || os.ID_LIKE.includes('debian') || os.ID_LIKE.includes('ubuntu')
  );
}
