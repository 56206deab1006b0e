import t from 'tap';
import { targetFromArgument, tokenTarget } from '../../helper/commands/target-argument.js';

t.test('an SSH remote is refused as one, with its https URL, and no user name', async (t) => {
  const remotes: [string, string][] = [
    ['git@git.example.test:acme/widgets.git', 'https://git.example.test/acme/widgets.git'],
    ['git.example.test:acme/widgets', 'https://git.example.test/acme/widgets'],
    ['ssh://git@git.example.test/acme/widgets.git', 'https://git.example.test/acme/widgets.git'],
    ['ssh://deploy@git.example.test:2222/acme/widgets', 'https://git.example.test/acme/widgets'],
    ['git+ssh://git@github.com/acme/widgets.git', 'https://github.com/acme/widgets.git'],
  ];
  for (const [argument, https] of remotes) {
    const error = t.throws(() => targetFromArgument(argument, 'github.com'), {
      code: 'BAD_REQUEST',
    }) as Error;
    t.match(
      error.message,
      `is an SSH remote, and SSH remotes are not served by a credential helper (git authenticates them with SSH keys); use the repository's https URL: ${https}`,
      argument,
    );
    t.notMatch(error.message, /git@|deploy@/, 'the user name is not repeated');
  }
});

t.test('owner/repo and https URLs are still taken', async (t) => {
  t.same(targetFromArgument('acme/widgets', 'github.com'), {
    protocol: 'https',
    host: 'github.com',
    path: 'acme/widgets',
  });
  t.same(targetFromArgument('https://ghe.example.com/acme/widgets.git', 'github.com'), {
    protocol: 'https',
    host: 'ghe.example.com',
    path: 'acme/widgets.git',
  });
});

t.test(
  'token leaves the host to the daemon for owner/repo without --host, and only then',
  async (t) => {
    t.same(tokenTarget('acme/widgets', undefined), {
      target: { protocol: 'https', host: 'github.com', path: 'acme/widgets' },
      hostFromDaemon: true,
    });
    t.same(tokenTarget('acme/widgets', 'ghe.example.com'), {
      target: { protocol: 'https', host: 'ghe.example.com', path: 'acme/widgets' },
      hostFromDaemon: false,
    });
    t.same(tokenTarget('https://ghe.example.com/acme/widgets', undefined).hostFromDaemon, false);
    // The same host both ways is no conflict.
    t.same(tokenTarget('https://GHE.example.com:443/acme/widgets', 'ghe.example.com').target, {
      protocol: 'https',
      host: 'GHE.example.com:443',
      path: 'acme/widgets',
    });
  },
);

t.test('a --host that differs from the clone URL beside it is refused, not ignored', async (t) => {
  const cases: [string, string][] = [
    ['https://ghe.example.com/acme/widgets', 'github.com'],
    ['https://ghe.example.com/acme/widgets', 'ghe.example.com:8443'],
    ['https://127.0.0.1:8080/acme/widgets', 'http://127.0.0.1:8080'],
  ];
  for (const [url, host] of cases) {
    t.throws(
      () => tokenTarget(url, host),
      {
        code: 'BAD_REQUEST',
        message:
          /and the clone URL's 'https:\/\/[^']+' differ; the URL names its host, so leave --host out/,
      },
      `${url} --host ${host}`,
    );
  }
});
