import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The conformance gate (test/conformance): every request an emulator serves is checked.
    globalSetup: ['test/conformance/global.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
          setupFiles: ['test/conformance/gate.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/faults/**/*.test.ts'],
          globalSetup: ['test/faults/figures-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          setupFiles: ['test/conformance/gate.ts'],
        },
      },
    ],
  },
});
