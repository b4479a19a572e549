import type { DriverPlugin } from './contract.js';
import { UserError } from '../errors.js';
import { genericPlugin } from '../../drivers/generic/plugin.js';
import { dockerPlugin } from '../../drivers/docker/plugin.js';
import { googlePlugin } from '../../drivers/google/plugin.js';
import { aliyunecsPlugin } from '../../drivers/aliyunecs/plugin.js';
import { virtualboxPlugin } from '../../drivers/virtualbox/plugin.js';

/** Every built-in driver. Plugins describe flags only; implementations load lazily. */
export const drivers: readonly DriverPlugin[] = [
  genericPlugin,
  dockerPlugin,
  aliyunecsPlugin,
  googlePlugin,
  virtualboxPlugin,
];

export function findDriver(name: string): DriverPlugin {
  const d = drivers.find((p) => p.name === name);
  if (!d) {
    throw new UserError(
      `Driver "${name}" not found. Available drivers: ${drivers.map((p) => p.name).join(', ')}`,
    );
  }
  return d;
}
