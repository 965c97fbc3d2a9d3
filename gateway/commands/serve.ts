/** `gateway serve` — being built; see the open issues. */
export const summary = '(serve: not implemented yet)';
export const help = 'gateway serve: not implemented yet';
export async function run(_argv: string[]): Promise<number> {
  console.error('gateway serve: not implemented yet');
  return 2;
}
