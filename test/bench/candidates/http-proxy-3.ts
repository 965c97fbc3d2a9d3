/** Candidate: node:http server + http-proxy-3 (the maintained rewrite of http-proxy) with a keep-alive agent. */
import http from 'node:http';
import { createProxyServer } from 'http-proxy-3';
import { listenPort, targetPort, exitOnTerm } from './common.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
const proxy = createProxyServer({ target: `http://127.0.0.1:${targetPort()}`, agent, xfwd: true });
proxy.on('error', (_e, _req, res) => { if ('writeHead' in res && !res.headersSent) { res.writeHead(502); res.end(); } });
http.createServer((req, res) => proxy.web(req, res)).listen(listenPort, '127.0.0.1');
exitOnTerm();
