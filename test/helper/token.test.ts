import t from 'tap';
import { parsePermissionFlags } from '../../helper/commands/token.js';

t.test('--permission takes name=level and says which part is wrong', async (t) => {
  t.equal(parsePermissionFlags([]), undefined);
  t.same(parsePermissionFlags(['contents=read', 'issues=write']), {
    contents: 'read',
    issues: 'write',
  });
  t.throws(() => parsePermissionFlags(['contents']), {
    code: 'BAD_REQUEST',
    message: "--permission 'contents' is not name=level; for example --permission contents=read",
  });
  // Found in a new-user trial: this was called "not name=level" too.
  t.throws(() => parsePermissionFlags(['contents=rw']), {
    code: 'BAD_REQUEST',
    message:
      "--permission 'contents=rw': the level must be read, write or admin; for example --permission contents=read",
  });
  // Found in a new-user trial: an uppercase name was called "not name=level".
  t.throws(() => parsePermissionFlags(['CONTENTS=read']), {
    code: 'BAD_REQUEST',
    message:
      "--permission 'CONTENTS=read': permission names are lowercase; for example --permission contents=read",
  });
  let shown = '';
  try {
    parsePermissionFlags(['contents=\u001b[31mred']);
  } catch (error) {
    shown = (error as Error).message;
  }
  t.match(shown, /the level must be read, write or admin/);
  t.notOk(shown.includes('\u001b'), 'a control character typed is not echoed as is');
});
