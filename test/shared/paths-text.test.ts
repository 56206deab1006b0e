import t from 'tap';
import { stripGitSuffixes, trimSlashes } from '../../shared/paths-text.js';

t.test('trims slashes at both ends only', async (t) => {
  t.equal(trimSlashes('//acme/widgets.git///'), 'acme/widgets.git');
  t.equal(trimSlashes('///'), '');
  t.equal(trimSlashes('a//b'), 'a//b');
});

t.test('strips an lfs suffix, then .git', async (t) => {
  t.equal(stripGitSuffixes('acme/widgets.git/info/lfs'), 'acme/widgets');
  t.equal(stripGitSuffixes('acme/widgets/info/lfs/objects'), 'acme/widgets');
  t.equal(stripGitSuffixes('acme/widgets.GIT'), 'acme/widgets');
  t.equal(stripGitSuffixes('acme/info/lfsx'), 'acme/info/lfsx');
});
