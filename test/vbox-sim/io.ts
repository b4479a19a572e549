/** Where a command writes: VBoxManage's stdout and stderr, and the environment it was started with. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
}
