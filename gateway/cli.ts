#!/usr/bin/env node
/**
 * `gateway`: the Switchyard command line. Each subcommand lives in gateway/commands/<name>.ts and
 * exports `summary`, `help` and `run(argv)`; they are loaded lazily so `gateway check` never pays
 * for the data plane's imports.
 */
type Command = { summary: string; help: string; run(argv: string[]): Promise<number> };

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: () => import('./commands/serve.ts'),
  check: () => import('./commands/check.ts'),
  explain: () => import('./commands/explain.ts'),
  'import-synapse': () => import('./commands/import-synapse.ts'),
  simulate: () => import('./commands/simulate.ts'),
  loadtest: () => import('./commands/loadtest.ts'),
};

async function usage(): Promise<string> {
  const lines = ['Usage: gateway [serve] --routes routes.yaml [options]', '       gateway <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const summary = await load().then((c) => c.summary, () => '(unavailable)');
    lines.push(`  ${name.padEnd(16)}${summary}`);
  }
  lines.push('', 'Run `gateway <command> --help` for the options of each command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    console.log(await usage());
    return first === undefined ? 2 : 0;
  }
  // `gateway --routes routes.yaml` is `gateway serve --routes routes.yaml`.
  const name = first.startsWith('-') ? 'serve' : first;
  const rest = first.startsWith('-') ? argv : argv.slice(1);
  const load = COMMANDS[name];
  if (!load) {
    console.error(`gateway: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help);
    return 0;
  }
  return cmd.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
