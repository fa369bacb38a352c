import t from '../../helpers/tap.js';
import { contentDisposition, sanitiseOriginalFilename } from '../../../server/modules/files/filenames.js';

t.test('original names lose their paths and control characters', async (t) => {
  const cases: Array<[string | undefined, string]> = [
    ['report.pdf', 'report.pdf'],
    ['../../x.png', 'x.png'],
    ['..\\..\\windows\\evil.exe', 'evil.exe'],
    ['/etc/passwd', 'passwd'],
    ['a\u0000b\nc\u202Egnp.exe', 'abcgnp.exe'],
    ['  spaced name.txt  ', 'spaced name.txt'],
    ['Cafe\u0301.txt', 'Café.txt'],
    ['..', 'upload'],
    ['dir/', 'upload'],
    ['', 'upload'],
    [undefined, 'upload'],
  ];
  for (const [raw, expected] of cases) t.equal(sanitiseOriginalFilename(raw), expected, JSON.stringify(raw));
  t.equal(sanitiseOriginalFilename(`${'é'.repeat(300)}.txt`).length, 255);
});

t.test('Content-Disposition carries an ASCII fallback and the exact UTF-8 name', async (t) => {
  t.equal(contentDisposition('attachment', 'notes.pdf'), `attachment; filename="notes.pdf"; filename*=UTF-8''notes.pdf`);
  t.equal(
    contentDisposition('inline', `Résumé "final" (1)'s*.png`),
    `inline; filename="R_sum_ _final_ (1)'s*.png"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%20%281%29%27s%2A.png`,
  );
  t.equal(contentDisposition('attachment', '100%\\x.txt'), `attachment; filename="100__x.txt"; filename*=UTF-8''100%25%5Cx.txt`);
});
