/** Moving images between engines without a registry: save from one, load into others. */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';

/** An image's ID on an engine; undefined when it does not have it. */
export async function imageId(docker: Docker, image: string): Promise<string | undefined> {
  try {
    return ((await docker.getImage(image).inspect()) as { Id: string }).Id;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** `docker save IMAGE > file` through the API. */
export async function saveImage(docker: Docker, image: string, file: string): Promise<void> {
  const stream = (await docker.getImage(image).get()) as NodeJS.ReadableStream;
  await pipeline(stream, createWriteStream(file, { mode: 0o600 }));
}

/** `docker load < file` through the API; an error the engine reports in its answer is thrown. */
export async function loadImageFile(docker: Docker, file: string): Promise<void> {
  const stream = await docker.loadImage(createReadStream(file));
  await new Promise<void>((resolve, reject) => {
    let body = '';
    stream.on('data', (d: Buffer) => (body += d.toString()));
    stream.on('end', () => (/"error"/.test(body) ? reject(new Error(body.trim())) : resolve()));
    stream.on('error', reject);
  });
}
