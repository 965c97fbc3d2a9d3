/** Candidate: node:http server + undici Pool `stream()` writing straight into the response. */
import http from 'node:http';
import { Pool } from 'undici';
import { listenPort, targetPort, exitOnTerm } from './common.ts';

const pool = new Pool(`http://127.0.0.1:${targetPort()}`, { connections: 256, pipelining: 1 });
http.createServer((req, res) => {
  const headers = { ...req.headers };
  delete headers.connection;
  const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
  pool.stream({ method: req.method as 'GET', path: req.url ?? '/', headers, body }, ({ statusCode, headers: h }) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(h)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
    res.writeHead(statusCode, out);
    return res;
  }).catch(() => { if (!res.headersSent) { res.statusCode = 502; res.end(); } });
}).listen(listenPort, '127.0.0.1');
exitOnTerm();
