import { UserError } from '../errors.js';
import { clusterSchema } from './cluster-schema.js';

/** Check a parsed cluster file against src/cluster/cluster-schema.ts; the first problem is one clear line. */
export async function validateClusterFile(doc: unknown, where: string): Promise<void> {
  const { default: Ajv } = await import('ajv');
  const ajv = new (Ajv as unknown as typeof import('ajv').default)({ allErrors: false, strict: false });
  const validate = ajv.compile(clusterSchema);
  if (validate(doc)) return;
  const e = validate.errors![0];
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
  const extra =
    e.keyword === 'additionalProperties'
      ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"`
      : e.keyword === 'const'
        ? ` ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`
        : '';
  throw new UserError(`${where}: ${at} ${e.message}${extra}`);
}
