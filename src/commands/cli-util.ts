type Loader = () => Promise<{ run: (...args: never[]) => Promise<void> | void }>;

/** An action whose implementation (and everything it imports) loads only when the command runs. */
export const lazy =
  (load: Loader) =>
  async (...args: unknown[]) => {
    const mod = await load();
    await (mod.run as (...a: unknown[]) => Promise<void>)(...args);
  };

/** commander accumulator for repeatable options (no default: the first value starts the list). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
