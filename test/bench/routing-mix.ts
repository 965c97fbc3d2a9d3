/**
 * The routing benchmark's request mix, seeded, with the shares of shared/bench/README.md
 * "Traffic": 55 % incremental sync with tokens (half header, half access_token), 3 % initial
 * sync, 12 % event sending (80 % of room IDs percent-encoded), 5 % /messages, 5 % stream
 * writers, 5 % federation /send, 10 % other reads, 5 % unmatched (main, admin, media...).
 */
import { keptRequestHeaders } from '../../gateway/headers.ts';
import { routeRequest } from '../../gateway/handler.ts';
import { parseRequestHead } from '../../gateway/http1-request.ts';
import type { RouteRequest } from '../../routing/types.ts';
import { Prng } from '../routing/property-gen.ts';

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const C = '/_matrix/client/v3';

function chars(rng: Prng, n: number, alphabet: string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.below(alphabet.length)];
  return s;
}

interface World {
  readonly tokens: readonly string[];
  readonly rooms: readonly string[];
}

function world(rng: Prng): World {
  const tokens = Array.from({ length: 2000 }, (_, i) => {
    const local = Buffer.from(`user${i}x`).toString('base64').replace(/=+$/, '');
    return `syt_${local}_${chars(rng, 20, B62.slice(10))}_${chars(rng, 6, B62)}`;
  });
  const rooms = Array.from({ length: 500 }, () => `!${chars(rng, 18, B62.slice(10))}:example.org`);
  return { tokens, rooms };
}

function withToken(rng: Prng, w: World, method: string, path: string, query: string): RouteRequest {
  const token = rng.pick(w.tokens);
  if (rng.chance(0.5)) return { method, path, query, headers: { authorization: `Bearer ${token}` }, sourceIp: '127.0.0.1' };
  return { method, path, query: query ? `${query}&access_token=${token}` : `access_token=${token}`, headers: {}, sourceIp: '127.0.0.1' };
}

function room(rng: Prng, w: World): string {
  const r = w.rooms[Math.floor(w.rooms.length * rng.next() ** 3)]!; // Zipf-like popularity
  return rng.chance(0.8) ? encodeURIComponent(r) : r;
}

type Gen = (rng: Prng, w: World) => RouteRequest;

const SHARES: [number, Gen][] = [
  [55, (rng, w) => withToken(rng, w, 'GET', `${C}/sync`, `filter=0&timeout=30000&since=s${rng.below(1e7)}_${rng.below(9999)}_0_1484`)],
  [3, (rng, w) => rng.chance(0.7) ? withToken(rng, w, 'GET', `${C}/sync`, 'timeout=0')
    : withToken(rng, w, 'GET', rng.chance(0.5) ? `${C}/rooms/${room(rng, w)}/initialSync` : '/_matrix/client/r0/initialSync', '')],
  [12, (rng, w) => withToken(rng, w, 'PUT', `${C}/rooms/${room(rng, w)}/${rng.pick(['send/m.room.message', 'send/m.reaction', 'state/m.room.topic/', 'redact/$ev', 'send/m.room.message'])}/m${rng.below(1e9)}`, '')],
  [5, (rng, w) => withToken(rng, w, 'GET', `${C}/rooms/${room(rng, w)}/messages`, `dir=b&from=t${rng.below(1e6)}&limit=20`)],
  [5, (rng, w) => withToken(rng, w, rng.pick(['PUT', 'POST']), rng.pick([`${C}/rooms/${room(rng, w)}/typing/%40u%3Aexample.org`, `${C}/rooms/${room(rng, w)}/receipt/m.read/$e`,
    `${C}/rooms/${room(rng, w)}/read_markers`, `${C}/sendToDevice/m.room.encrypted/t${rng.below(1e6)}`, `${C}/user/%40u%3Aexample.org/account_data/m.x`,
    `${C}/user/%40u%3Aexample.org/rooms/${room(rng, w)}/tags/u.work`, `${C}/presence/%40u%3Aexample.org/status`]), '')],
  [5, (rng) => ({ method: 'PUT', path: `/_matrix/federation/v1/send/m${rng.below(1e9)}`, query: '',
    headers: { authorization: `X-Matrix origin="remote${rng.below(50)}.example.net",key="ed25519:a",sig="x"` }, sourceIp: `10.0.${rng.below(4)}.${rng.below(250)}` })],
  [10, (rng, w) => rng.chance(0.1) ? { method: 'GET', path: `/_matrix/federation/v1/event/$e${rng.below(1e6)}`, query: '', headers: {}, sourceIp: '10.0.0.9' }
    : withToken(rng, w, 'GET', rng.pick([`${C}/keys/query`, `${C}/profile/%40u%3Aexample.org`, `${C}/joined_rooms`, `${C}/capabilities`, '/_matrix/client/versions',
      `${C}/pushrules/`, `${C}/rooms/${room(rng, w)}/members`, `${C}/account/whoami`, `${C}/keys/changes`, `${C}/user/%40u%3Aexample.org/filter/1`, `${C}/devices`, `${C}/publicRooms`]), '')],
  [5, (rng, w) => withToken(rng, w, rng.pick(['POST', 'PUT', 'GET', 'DELETE']), rng.pick([`${C}/keys/upload`, '/_matrix/media/v3/download/example.org/abc', `${C}/pushrules/global/override/x`,
    `${C}/notifications`, `${C}/thirdparty/protocols`, '/_synapse/admin/v1/users/%40u%3Aexample.org', `${C}/account/password`, `${C}/logout`,
    `${C}/user/%40u%3Aexample.org/openid/request_token`, `${C}/devices/ABCDEF`, `${C}/rooms/${room(rng, w)}/upgrade`]), '')],
];

/** One request of the mix as it arrives: its head (request line and fields) and the peer's address. */
export interface ReceivedHead {
  /** The head as the listener holds it: its bytes decoded to one latin1 string, without the final CRLFCRLF. */
  readonly text: string;
  readonly sourceIp: string;
}

/** `n` request heads of the mix, shuffled, deterministic from `seed`. */
export function benchHeads(seed: number, n: number): ReceivedHead[] {
  const rng = new Prng(seed);
  const w = world(rng);
  const total = SHARES.reduce((a, [s]) => a + s, 0);
  const out: RouteRequest[] = [];
  for (const [share, gen] of SHARES) for (let i = 0; i < Math.round((n * share) / total); i++) out.push(gen(rng, w));
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.map((r) => ({ text: headText(r, rng), sourceIp: r.sourceIp }));
}

/**
 * Parses heads as the data plane does: the gateway's own parser (gateway/http1-request.ts),
 * keeping the headers the gateway keeps for a table that reads `routedHeaders`, then
 * gateway/handler.ts routeRequest; so method, path, query and header values are what decide()
 * gets in the gateway: slices of one head string.
 */
export class HeadParser {
  private readonly kept: ReadonlySet<string>;

  constructor(routedHeaders: ReadonlySet<string>) {
    this.kept = keptRequestHeaders(routedHeaders);
  }

  parse(h: ReceivedHead): RouteRequest {
    return routeRequest(parseRequestHead(h.text, this.kept), h.sourceIp);
  }
}

/** User agents of the usual clients (Element Web/Desktop, Element X, a bridge). */
const CLIENT_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Element/1.11.85 Chrome/130.0.6723.191 Electron/33.4.0 Safari/537.36',
  'Element X/25.03.4 (Google Pixel 8; Android 15; AP4A.250205.002; Sdk 1.0.0)',
  'mautrix-whatsapp/v0.11.4 mautrix-go/v0.23.2',
];

/** The head a client (or a federating Synapse) sends for `r`, with the usual fields. */
function headText(r: RouteRequest, rng: Prng): string {
  const federation = r.path.startsWith('/_matrix/federation/');
  const lines = [`${r.method} ${r.query ? `${r.path}?${r.query}` : r.path} HTTP/1.1`, 'Host: matrix.example.org'];
  lines.push(`User-Agent: ${federation ? 'Synapse/1.92.3' : rng.pick(CLIENT_AGENTS)}`, 'Accept: application/json');
  const auth = r.headers.authorization;
  if (typeof auth === 'string') lines.push(`Authorization: ${auth}`);
  if (r.method === 'PUT' || r.method === 'POST') lines.push('Content-Type: application/json', `Content-Length: ${20 + rng.below(400)}`);
  lines.push('Accept-Encoding: gzip, deflate, br');
  // As the listener reads it: the head's bytes decoded to one flat latin1 string.
  return Buffer.from(lines.join('\r\n'), 'latin1').toString('latin1');
}
