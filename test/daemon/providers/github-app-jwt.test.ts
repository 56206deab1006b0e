import { generateKeyPairSync, verify } from 'node:crypto';
import t from 'tap';
import { AppJwtSigner } from '../../../daemon/providers/github-app-jwt.js';
import { GitHubClock } from '../../../daemon/providers/github-clock.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function claims(jwt: string): Record<string, number> {
  const [header, payload, signature] = jwt.split('.');
  const signed = Buffer.from(`${header}.${payload}`);
  const valid = verify('RSA-SHA256', signed, publicKey, Buffer.from(signature!, 'base64url'));
  if (!valid) throw new Error('signature does not verify');
  return JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, number>;
}

t.test('signs RS256 with iat a minute back and exp within ten minutes', async (t) => {
  const signer = new AppJwtSigner('4242', pem, new GitHubClock(() => NOW));

  const payload = claims(signer.sign().jwt);

  t.equal(payload.iss, 4242);
  t.equal(payload.iat, NOW / 1000 - 60);
  t.ok(payload.exp! - payload.iat! <= 600);
  t.ok(payload.exp! > NOW / 1000);
});

t.test('dates the JWT by GitHub clock once a Date header was seen', async (t) => {
  const clock = new GitHubClock(() => NOW);
  const signer = new AppJwtSigner('Iv23abc', pem, clock);

  clock.observe(new Date(NOW + 3 * 3600_000).toUTCString());
  const payload = claims(signer.sign().jwt);

  t.equal(payload.iss as unknown, 'Iv23abc', 'a client ID stays a string');
  t.equal(payload.iat, NOW / 1000 + 3 * 3600 - 60);
});

t.test('reuses a JWT for minutes and signs afresh when the clock changes', async (t) => {
  let now = NOW;
  const clock = new GitHubClock(() => now);
  const signer = new AppJwtSigner('4242', pem, clock);

  const first = signer.sign().jwt;
  now += 3 * 60_000;
  const reused = signer.sign().jwt;
  now += 2 * 60_000;
  const renewed = signer.sign().jwt;
  clock.observe(new Date(now + 3600_000).toUTCString());
  const skewed = signer.sign().jwt;

  t.equal(reused, first, 'three minutes in: the same JWT');
  t.not(renewed, first, 'five minutes in: a new one');
  t.not(skewed, renewed, 'after learning an offset: a new one');
});
