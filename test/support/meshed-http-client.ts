/**
 * The client side of the HTTP end-to-end tests: a real `weft control-plane` process serving a
 * config directory, a core `Mesh` bootstrapped with the A27 bootstrap `weft bootstrap` prints,
 * and a mesh dispatcher over it (REGISTRY_ONLY, so a host the config lacks fails loudly).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mesh } from '@weft/core';
import { createMeshDispatcher, type MeshDispatcher } from '@weft/http-adapter';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';

/** The `weft` CLI entry point. */
export const WEFT_CLI = fileURLToPath(new URL('../../packages/control-plane/src/cli/weft.ts', import.meta.url));

/** What {@link startMeshedHttpClient} started; `close()` stops all of it (idempotent parts). */
export interface MeshedHttpClient {
  readonly cp: ControlPlaneProcess;
  readonly mesh: Mesh;
  readonly dispatcher: MeshDispatcher;
  close(): Promise<void>;
}

/** Starts the control plane on `configDir` and a client workload `workloadName` in `namespace`. */
export async function startMeshedHttpClient(configDir: string, o: { readonly namespace: string; readonly workloadName: string }): Promise<MeshedHttpClient> {
  const cp = await startControlPlane({ configPaths: [configDir], args: ['--debounce-ms', '50'] });
  const bootstrap = execFileSync(process.execPath, [WEFT_CLI, 'bootstrap', '--xds-address', cp.xdsAddress, '--namespace', o.namespace, '--workload-name', o.workloadName], { encoding: 'utf8' });
  const mesh = await Mesh.create({ xdsClientOptions: { bootstrap }, namespace: o.namespace });
  const dispatcher = createMeshDispatcher({ mesh, outboundTrafficPolicy: 'REGISTRY_ONLY', firstConfigTimeoutMs: 10_000 });
  return {
    cp,
    mesh,
    dispatcher,
    async close() {
      await dispatcher.close();
      await mesh.close();
      await cp.stop();
    },
  };
}
