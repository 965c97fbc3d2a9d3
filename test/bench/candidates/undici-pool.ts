/** Candidate: node:http server + undici Pool (`pool.request`, streaming body both ways). */
import http from 'node:http';
import { Pool } from 'undici';
import { listenPort, targetPort, exitOnTerm } from './common.ts';

const pool = new Pool(`http://127.0.0.1:${targetPort()}`, { connections: 256, pipelining: 1 });
http.createServer((req, res) => {
  const headers = { ...req.headers };
  delete headers.connection;
  const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
  pool.request({ method: req.method as 'GET', path: req.url ?? '/', headers, body }).then((ur) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(ur.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
    res.writeHead(ur.statusCode, out);
    ur.body.pipe(res);
  }, () => { res.statusCode = 502; res.end(); });
}).listen(listenPort, '127.0.0.1');
exitOnTerm();
