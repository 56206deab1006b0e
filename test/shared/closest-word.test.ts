import t from 'tap';
import { closestWord, editDistance } from '../../shared/closest-word.js';
import { COMMAND_NAMES, COMMAND_WORD_LIST } from '../../helper/command-names.js';

t.test('counts a swap of neighbours as one edit', async (t) => {
  t.equal(editDistance('stauts', 'status'), 1);
  t.equal(editDistance('deamon', 'daemon'), 1);
  t.equal(editDistance('content', 'contents'), 1);
  t.equal(editDistance('frob', 'stop'), 3);
  t.equal(editDistance('', 'get'), 3);
  t.equal(editDistance('same', 'same'), 0);
});

t.test('suggests the command a slip of the keyboard most likely meant', async (t) => {
  const suggestions = Object.fromEntries(
    ['stauts', 'Status', 'stat', 'deamon', 'relaod', 'tokn', 'stor', 'gte', 'confgiure'].map(
      (word) => [word, closestWord(word, COMMAND_NAMES)],
    ),
  );

  t.same(suggestions, {
    stauts: 'status',
    Status: 'status',
    stat: 'status',
    deamon: 'daemon',
    relaod: 'reload',
    tokn: 'token',
    // One edit from stop too: a word that begins a command wins the tie.
    stor: 'store',
    gte: 'get',
    confgiure: 'configure',
  });
});

t.test('suggests help too, as yargs takes it for a command', async (t) => {
  t.equal(closestWord('hlep', COMMAND_WORD_LIST), 'help');
});

t.test('suggests nothing for a word far from every candidate, or one of them', async (t) => {
  for (const word of ['frob', 'capability', 'start', 'st', 'status']) {
    t.equal(closestWord(word, COMMAND_NAMES), undefined, word);
  }
});
