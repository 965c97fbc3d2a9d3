/** `gateway check` — being built; see the open issues. */
export const summary = '(check: not implemented yet)';
export const help = 'gateway check: not implemented yet';
export async function run(_argv: string[]): Promise<number> {
  console.error('gateway check: not implemented yet');
  return 2;
}
