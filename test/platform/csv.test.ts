import t from '../helpers/tap.js';
import { csvCell, toCsv } from '../../server/platform/csv.js';

t.test('cells are quoted only when they must be, quotes doubled', async (t) => {
  t.equal(csvCell('Ada Lovelace'), 'Ada Lovelace');
  t.equal(csvCell('Lovelace, Ada'), '"Lovelace, Ada"');
  t.equal(csvCell('say "hi"'), '"say ""hi"""');
  t.equal(csvCell('two\nlines'), '"two\nlines"');
  t.equal(csvCell(null), '');
  t.equal(csvCell(undefined), '');
  t.equal(csvCell(12.5), '12.5');
  t.equal(csvCell(-3), '-3', 'a negative number is data');
  t.equal(csvCell(true), 'true');
});

t.test('text a spreadsheet would run as a formula is defused with a leading quote', async (t) => {
  t.equal(csvCell('=HYPERLINK("http://evil")'), `"'=HYPERLINK(""http://evil"")"`);
  t.equal(csvCell('+1'), "'+1");
  t.equal(csvCell('-2+3'), "'-2+3");
  t.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  t.equal(csvCell('\tcmd'), "'\tcmd");
  t.equal(csvCell('a=b'), 'a=b', 'only at the start');
});

t.test('a document: header, rows, CRLF', async (t) => {
  t.equal(
    toCsv(
      ['name', 'score'],
      [
        ['A, B', 1],
        ['=x', null],
      ],
    ),
    'name,score\r\n"A, B",1\r\n\'=x,\r\n',
  );
});
