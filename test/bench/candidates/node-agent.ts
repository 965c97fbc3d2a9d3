/** Candidate: node:http server + node:http client with a keep-alive http.Agent (the textbook proxy). */
import http from 'node:http';
import { listenPort, targetPort, exitOnTerm } from './common.ts';

const port = targetPort();
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => { res.statusCode = 502; res.end(); });
  req.pipe(up);
}).listen(listenPort, '127.0.0.1');
exitOnTerm();
