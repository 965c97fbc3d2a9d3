/** `gateway explain` — being built; see the open issues. */
export const summary = '(explain: not implemented yet)';
export const help = 'gateway explain: not implemented yet';
export async function run(_argv: string[]): Promise<number> {
  console.error('gateway explain: not implemented yet');
  return 2;
}
