// What the guest's init runs for an OCI image, as a container runtime would read its config:
// Entrypoint followed by Cmd (the element's `args` replace Cmd), Env (with a default PATH, as
// Docker gives), WorkingDir, User and the hostname. The guest reads it as a shell fragment
// (guest/rootfs/sbin/oci-run) from the launch file of the 9P top directory (src/engines/root-mux.ts).

import { VmError } from '../errors.js';
import { ImageConfig } from './image.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A word for sh, single-quoted. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The launch file: variables, and two functions that append the environment's and the command's
 * words to the command line they are given (ash has no arrays).
 */
export function launchScript(config: ImageConfig, args: string[] | null, src: string): string {
  const command = [...(config.Entrypoint ?? []), ...(args ?? config.Cmd ?? [])];
  if (command.length === 0) throw new VmError('bad-arguments', `the image ${src} names no Entrypoint or Cmd: give the command to run in the args attribute.`);
  const env = config.Env ?? [];
  const withPath = env.some((e) => e.startsWith('PATH=')) ? env : [DEFAULT_PATH, ...env];
  return [
    `cvm_hostname=${quote(config.Hostname || 'container-vm')}`,
    `cvm_workdir=${quote(config.WorkingDir || '/')}`,
    `cvm_user=${quote(config.User ?? '')}`,
    `cvm_env() { "$@" ${withPath.map(quote).join(' ')}; }`,
    `cvm_cmd() { "$@" ${command.map(quote).join(' ')}; }`,
    '',
  ].join('\n');
}
