/** `gateway import-synapse` — being built; see the open issues. */
export const summary = '(import-synapse: not implemented yet)';
export const help = 'gateway import-synapse: not implemented yet';
export async function run(_argv: string[]): Promise<number> {
  console.error('gateway import-synapse: not implemented yet');
  return 2;
}
