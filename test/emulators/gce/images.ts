// Public images (by family or name). Every image boots the lab's VM image (Debian 12) when backed.
import { invalidField, notFound } from './errors.js';
import { listResponse } from './list.js';
import type { Router } from './router.js';
import type { State } from './state.js';
import { projectPath } from './urls.js';

interface ImageDef {
  project: string;
  family: string;
  name: string;
  description: string;
  id: string;
}

const VERSION = 'v20250610';
export const PUBLIC_IMAGES: ImageDef[] = [
  [
    'debian-cloud',
    'debian-12',
    `debian-12-bookworm-${VERSION}`,
    'Debian, Debian GNU/Linux, 12 (bookworm), amd64',
  ],
  [
    'debian-cloud',
    'debian-11',
    `debian-11-bullseye-${VERSION}`,
    'Debian, Debian GNU/Linux, 11 (bullseye), amd64',
  ],
  [
    'ubuntu-os-cloud',
    'ubuntu-2204-lts',
    `ubuntu-2204-jammy-${VERSION}`,
    'Canonical, Ubuntu, 22.04 LTS, amd64',
  ],
  [
    'ubuntu-os-cloud',
    'ubuntu-2404-lts-amd64',
    `ubuntu-2404-noble-amd64-${VERSION}`,
    'Canonical, Ubuntu, 24.04 LTS, amd64',
  ],
  ['cos-cloud', 'cos-stable', 'cos-stable-121-18867-90-4', 'Google, Container-Optimized OS, stable'],
].map(([project, family, name, description], i) => ({
  project,
  family,
  name,
  description: `${description} built on ${VERSION.slice(1)}`,
  id: String(7_000_000_000_000_000_000n + BigInt(i) * 1_000_003n),
}));

const DISK_SIZE_GB = 10;

function render(state: State, img: ImageDef) {
  return {
    kind: 'compute#image',
    id: img.id,
    creationTimestamp: '2025-06-10T00:00:00.000+00:00',
    name: img.name,
    description: img.description,
    family: img.family,
    sourceType: 'RAW',
    status: 'READY',
    archiveSizeBytes: '1234567890',
    diskSizeGb: String(DISK_SIZE_GB),
    licenses: [state.links.abs(`projects/${img.project}/global/licenses/${img.family}`)],
    selfLink: state.links.abs(`projects/${img.project}/global/images/${img.name}`),
    labelFingerprint: '42WmSpB8rSM=',
    architecture: 'X86_64',
    storageLocations: ['us', 'eu', 'asia'],
  };
}

/** Resolve `sourceImage` (family or image, full or partial URL) for instance insert. */
export function resolveSourceImage(
  state: State,
  ref: unknown,
  field: string,
): { name: string; diskSizeGb: number } {
  const p = typeof ref === 'string' ? projectPath(ref, state.project) : undefined;
  const m = p && /^projects\/([^/]+)\/global\/images\/(?:family\/([^/]+)|([^/]+))$/.exec(p);
  const img =
    m &&
    PUBLIC_IMAGES.find(
      (i) => i.project === m[1] && (m[2] !== undefined ? i.family === m[2] : i.name === m[3]),
    );
  if (!img) throw invalidField(field, ref, 'The referenced image resource cannot be found.');
  return { name: img.name, diskSizeGb: DISK_SIZE_GB };
}

export function registerImages(router: Router, state: State): void {
  // Image paths name the image's project, which is usually not the emulator's.
  const anyProject = { anyProject: true };
  router.get('/projects/:project/global/images/family/:family', anyProject, ({ params }) => {
    const img = PUBLIC_IMAGES.find((i) => i.project === params.project && i.family === params.family);
    if (!img) throw notFound(`projects/${params.project}/global/images/family/${params.family}`);
    return render(state, img);
  });
  router.get('/projects/:project/global/images/:image', anyProject, ({ params }) => {
    const img = PUBLIC_IMAGES.find((i) => i.project === params.project && i.name === params.image);
    if (!img) throw notFound(`projects/${params.project}/global/images/${params.image}`);
    return render(state, img);
  });
  router.get('/projects/:project/global/images', anyProject, ({ params, query }) =>
    listResponse(
      PUBLIC_IMAGES.filter((i) => i.project === params.project).map((i) => render(state, i)),
      query,
      'compute#imageList',
      `projects/${params.project}/global/images`,
      state.links.abs(`projects/${params.project}/global/images`),
    ),
  );
}
