/** `gateway loadtest` — being built; see the open issues. */
export const summary = '(loadtest: not implemented yet)';
export const help = 'gateway loadtest: not implemented yet';
export async function run(_argv: string[]): Promise<number> {
  console.error('gateway loadtest: not implemented yet');
  return 2;
}
