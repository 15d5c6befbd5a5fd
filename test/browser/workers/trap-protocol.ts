/** The write size at which trapping-storage-worker.ts makes L1's sah_write import throw. */
export const TRAP_WRITE_BYTES = 7777;
