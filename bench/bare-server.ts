/**
 * The daemon benchmark's reference: a bare node:net server on a Unix socket
 * that reads one line and answers with fixed bytes (the daemon's own reply
 * to the same request), then closes, as the daemon does. Run as a child:
 * `node bare-server.js SOCKET REPLY_FILE`; prints "ready" when listening.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const [socketPath, replyFile] = process.argv.slice(2);
if (socketPath === undefined || replyFile === undefined) {
  process.stderr.write('usage: bare-server SOCKET REPLY_FILE\n');
  process.exit(2);
}
const reply = readFileSync(replyFile);

const server = createServer((socket) => {
  let answered = false;
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    if (answered || chunk.indexOf(0x0a) === -1) return;
    answered = true;
    socket.end(reply);
  });
});
server.listen(socketPath, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
