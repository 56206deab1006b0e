/**
 * The credential-protocol conformance suite: one table of inputs, checked
 * twice: by the helper's parser, and end to end through real `git credential
 * fill`, `approve` and `reject` with the broker as git's helper.
 */
import t from 'tap';
import {
  parseCredentialInput,
  type CredentialAttributes,
} from '../../helper/credential-protocol.js';
import { createBrokerWorld } from '../fixtures/broker-world.js';

interface Case {
  name: string;
  /** Attribute lines; HOST stands for the fixture's host:port. */
  input: string[];
  /** What the helper's parser makes of the input (before git touches it). */
  parsed: { protocol?: string; host?: string; path?: string; username?: string; password?: string };
  /** End to end: the repository's token, or git told to quit with this reason. */
  outcome: 'token' | RegExp;
}

const CASES: Case[] = [
  {
    name: 'protocol, host and path',
    input: ['protocol=http', 'host=HOST', 'path=acme/widgets.git'],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme/widgets.git' },
    outcome: 'token',
  },
  {
    name: 'owner and repository in another case, without .git',
    input: ['protocol=http', 'host=HOST', 'path=Acme/WIDGETS'],
    parsed: { protocol: 'http', host: 'HOST', path: 'Acme/WIDGETS' },
    outcome: 'token',
  },
  {
    name: 'a url= line',
    input: ['url=http://HOST/acme/widgets.git'],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme/widgets.git' },
    outcome: 'token',
  },
  {
    name: 'url= resets the fields read before it',
    input: [
      'protocol=https',
      'path=acme/secret-plans',
      'username=someone',
      'url=http://HOST/acme/widgets',
    ],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme/widgets' },
    outcome: 'token',
  },
  {
    name: 'percent-escapes in a url are decoded once',
    input: ['url=http://HOST/acme/%77idgets.git'],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme/widgets.git' },
    outcome: 'token',
  },
  {
    name: 'a value containing =',
    input: ['protocol=http', 'host=HOST', 'path=acme/widgets', 'password=a=b='],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme/widgets', password: 'a=b=' },
    outcome: 'token',
  },
  {
    name: 'unknown and repeated keys are ignored',
    input: [
      'protocol=http',
      'host=HOST',
      'path=acme/widgets',
      'capability[]=authtype',
      'wwwauth[]=Basic realm="GitHub"',
      'future_key=1',
    ],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme/widgets' },
    outcome: 'token',
  },
  {
    name: 'a double-encoded slash stays encoded and is refused',
    input: ['url=http://HOST/acme%252Fwidgets'],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme%2Fwidgets' },
    outcome: /is not of the form owner\/repository|not a valid GitHub owner\/repository/,
  },
  {
    name: 'a dot-dot segment is refused, not resolved',
    input: ['url=http://HOST/acme/secret-plans/../widgets'],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme/secret-plans/../widgets' },
    outcome: /is not of the form owner\/repository/,
  },
  {
    name: 'no path (useHttpPath off) is refused with the git config fix',
    input: ['protocol=http', 'host=HOST'],
    parsed: { protocol: 'http', host: 'HOST' },
    outcome: /git config --global credential\.http:\/\/HOST\.useHttpPath true/,
  },
  {
    name: 'a repository the App is not installed on is refused',
    input: ['protocol=http', 'host=HOST', 'path=acme/secret-plans.git'],
    parsed: { protocol: 'http', host: 'HOST', path: 'acme/secret-plans.git' },
    outcome: /is not installed on 'acme\/secret-plans'/,
  },
];

const withHost = (text: string, host: string): string => text.replaceAll('HOST', host);

t.test('the parser reads each case as git means it', async (t) => {
  for (const c of CASES) {
    const parsed: Partial<CredentialAttributes> = parseCredentialInput(`${c.input.join('\n')}\n\n`);
    delete parsed.multi;
    t.same(parsed, c.parsed, c.name);
  }
});

t.test('through real git: every case gets the one token or a refusal that stops git', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { notInstalled: ['secret-plans'] });
  t.teardown(() => w.stop());
  const host = w.github.host;

  for (const c of CASES) {
    const input = `${withHost(c.input.join('\n'), host)}\n\n`;
    const fill = await w.git(['credential', 'fill'], undefined, input);
    if (c.outcome === 'token') {
      t.equal(fill.code, 0, `${c.name}: ${fill.stderr}`);
      t.match(fill.stdout, `password=${w.github.issuedTokens()[0]}\n`, c.name);
    } else {
      t.not(fill.code, 0, c.name);
      t.match(
        fill.stderr,
        new RegExp(withHost(c.outcome.source, host.replace(/\./g, '\\.'))),
        c.name,
      );
      t.match(fill.stderr, /told us to quit/, `${c.name}: git stops instead of prompting`);
    }
  }
  t.equal(w.github.mintCount, 1, 'every spelling of acme/widgets shared one cached token');
});

t.test(
  'through real git: approve keeps the token, reject with another password keeps it, reject with it erases it',
  async (t) => {
    const w = await createBrokerWorld(t.testdir());
    t.teardown(() => w.stop());
    const base = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n`;
    const fill = async () =>
      /password=(.*)/.exec(
        (await w.git(['credential', 'fill'], undefined, `${base}\n`)).stdout,
      )?.[1];

    const token = await fill();
    await w.git(
      ['credential', 'approve'],
      undefined,
      `${base}username=x-access-token\npassword=${token}\n\n`,
    );
    const afterApprove = await fill();
    await w.git(
      ['credential', 'reject'],
      undefined,
      `${base}username=x-access-token\npassword=not-the-token\n\n`,
    );
    const afterWrongReject = await fill();
    await w.git(
      ['credential', 'reject'],
      undefined,
      `${base}username=x-access-token\npassword=${token}\n\n`,
    );
    const afterReject = await fill();

    t.equal(afterApprove, token, 'approve (store) changes nothing');
    t.equal(afterWrongReject, token, 'a reject for another password leaves the token cached');
    t.not(afterReject, token, 'a reject for this token erases it');
    t.equal(afterReject, w.github.issuedTokens()[1]);
    t.equal(w.github.mintCount, 2);
  },
);
