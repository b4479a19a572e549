/** The google driver module as core loads it: the driver, and batch creation for clusters. */
export * from './driver.js';
export { createMachines } from './batch.js';
