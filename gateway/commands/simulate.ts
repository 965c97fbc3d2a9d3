/** `gateway simulate` — being built; see the open issues. */
export const summary = '(simulate: not implemented yet)';
export const help = 'gateway simulate: not implemented yet';
export async function run(_argv: string[]): Promise<number> {
  console.error('gateway simulate: not implemented yet');
  return 2;
}
