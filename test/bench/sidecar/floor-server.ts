// The floor of a gRPC unary answer on node:http2, for `npm run bench:sidecar -- --floor`: the
// least a server can do on Node's HTTP/2 and still answer a Check like a gRPC server (read the
// request body, then 200 + the framed OK CheckResponse + `grpc-status: 0` trailers). It decides
// nothing and decodes nothing, so its CPU per request is what Node's HTTP/2 layer costs alone.
// Started like a sidecar (`floor-server.js server -l <socket> -d <ignored>`), so the benchmark
// drives it with the same client and reads its CPU from /proc the same way.
import { createServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import { rmSync } from 'node:fs';
import { loadExtAuthz } from '../../../proto/load.js';

const listen = process.argv[process.argv.indexOf('-l') + 1];
if (listen === undefined) throw new Error('usage: floor-server server -l <socket> -d <ignored>');

const ok = loadExtAuthz().envoy.service.auth.v3.Authorization.service.Check.responseSerialize({
  status: { code: 0, message: '' },
});
const framed = Buffer.alloc(5 + ok.length);
framed.writeUInt32BE(ok.length, 1);
ok.copy(framed, 5);
const HEADERS = { ':status': 200, 'content-type': 'application/grpc+proto' };
const TRAILERS = { 'grpc-status': '0' };

function sendTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(TRAILERS);
}
function onEnd(this: ServerHttp2Stream): void {
  this.respond(HEADERS, { waitForTrailers: true });
  this.end(framed);
}
function ignore(): void {}

const http2 = createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER });
http2.on('stream', (stream: ServerHttp2Stream, _headers: IncomingHttpHeaders) => {
  stream.on('data', ignore);
  stream.on('end', onEnd);
  stream.on('wantTrailers', sendTrailers);
});
rmSync(listen, { force: true });
const unix = createNetServer((socket) => http2.emit('connection', socket));
unix.listen(listen);
const stop = () => {
  unix.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
