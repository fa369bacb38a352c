import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { errorOf, replyOf } from '../../helpers/http.js';
import { createUser, TEST_PASSWORD } from '../../helpers/users.js';

// Defaults for the per-(email, IP) limit (10 per 15 min); a low email-wide ceiling to reach quickly.
const EMAIL_FAILURE_MAX = 12;
const { app } = await buildTestApp(t, 'login-limits', { LOGIN_EMAIL_FAILURE_MAX: String(EMAIL_FAILURE_MAX) });

const login = (email: string, password: string, ip: string) =>
  app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, remoteAddress: ip });

let subnet = 0;
/** A /24 of documentation addresses of this test's own, so that tests never share a counter. */
const ips = () => {
  const net = ++subnet;
  return (host: number) => `198.18.${net}.${host}`;
};

t.test('failed attempts from one IP do not lock the owner out from another', async (t) => {
  const victim = await createUser(app, 'admin');
  const ip = ips();
  const attacker = ip(1);
  const statuses: number[] = [];
  for (let i = 0; i < 11; i++) statuses.push((await login(victim.email, 'guessing-wrong', attacker)).statusCode);
  t.same(statuses, [...Array(10).fill(401), 429], 'the attacker is limited after LOGIN_RATE_LIMIT_MAX attempts');

  const owner = await login(victim.email, TEST_PASSWORD, ip(2));
  t.equal(owner.statusCode, 200, 'the owner signs in from its own address');
});

t.test('the (email, IP) limit bites whatever the password, and only that pair', async (t) => {
  const user = await createUser(app, 'student');
  const other = await createUser(app, 'student');
  const ip = ips();
  for (let i = 0; i < 10; i++) t.equal((await login(user.email, 'wrong-password', ip(1))).statusCode, 401);
  const limited = await login(` ${user.email.toUpperCase()} `, TEST_PASSWORD, ip(1));
  t.equal(limited.statusCode, 429, 'the right password from the same address is refused too');
  t.equal(errorOf(replyOf(limited), 429).code, 'RATE_LIMITED');
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(retryAfter > 0 && retryAfter <= 15 * 60, `retry-after ${retryAfter}`);
  t.equal((await login(other.email, TEST_PASSWORD, ip(1))).statusCode, 200, 'another account from that address');

  const keys = await app.redis.keys(`${app.config.redisPrefix}:*login*`);
  t.ok(keys.length > 0);
  t.notOk(
    keys.some((key) => key.includes('@') || key.includes('198.18.')),
    'no email or address in a Redis key',
  );
});

t.test('the email-wide ceiling counts failures from every address and spares known clients', async (t) => {
  const user = await createUser(app, 'instructor');
  const ip = ips();
  const home = ip(200);
  t.equal((await login(user.email, TEST_PASSWORD, home)).statusCode, 200, 'a successful login makes its address known');

  // Successes do not count toward the ceiling.
  for (let host = 100; host < 100 + EMAIL_FAILURE_MAX + 2; host++) t.equal((await login(user.email, TEST_PASSWORD, ip(host))).statusCode, 200);

  // A botnet: a few failures from each of many addresses, each far below the per-pair limit.
  let failures = 0;
  for (let host = 1; failures < EMAIL_FAILURE_MAX; host++) {
    for (let i = 0; i < 3 && failures < EMAIL_FAILURE_MAX; i++, failures++) t.equal((await login(user.email, 'botnet-guess', ip(host))).statusCode, 401);
  }

  const stranger = await login(user.email, TEST_PASSWORD, ip(150));
  t.equal(stranger.statusCode, 429, 'past the ceiling an unknown address is refused, even with the right password');
  t.equal(errorOf(replyOf(stranger), 429).code, 'RATE_LIMITED');
  t.ok(Number(stranger.headers['retry-after']) > 0);
  t.equal((await login(user.email, 'botnet-guess', ip(151))).statusCode, 429, 'and guesses stop being checked');

  t.equal((await login(user.email, TEST_PASSWORD, home)).statusCode, 200, 'the known address still signs in');
  t.equal((await login(user.email, 'typo-password', home)).statusCode, 401, 'and still gets its password checked');
  t.equal((await login(user.email, TEST_PASSWORD, ip(101))).statusCode, 200, 'so does any address that signed in successfully before');

  const bystander = await createUser(app, 'student');
  t.equal((await login(bystander.email, TEST_PASSWORD, ip(150))).statusCode, 200, 'other accounts are not affected');
});

t.test('the password change keeps its per-user limit', async (t) => {
  const user = await createUser(app, 'student');
  const change = (ip: string) =>
    app.inject({
      method: 'POST',
      url: '/api/me/password',
      headers: user.headers,
      payload: { currentPassword: 'not-it', newPassword: 'new-password-1' },
      remoteAddress: ip,
    });
  const ip = ips();
  for (let i = 0; i < 10; i++) t.equal((await change(ip(i + 1))).statusCode, 400, `attempt ${i + 1}`);
  t.equal((await change(ip(50))).statusCode, 429, 'per user, whatever the address');
});
