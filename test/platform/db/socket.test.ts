import t from '../../helpers/tap.js';
import { stat } from 'node:fs/promises';
import { MikroORM } from '@mikro-orm/postgresql';
import { createTestEnv } from '../../helpers/app.js';
import { ormOptions, socketDirectory } from '../../../server/platform/db/orm-options.js';

t.test("DATABASE_URL's host parameter names a Unix socket directory", async (t) => {
  t.equal(socketDirectory('postgresql://app@localhost/classroom?host=/var/run/postgresql'), '/var/run/postgresql');
  t.equal(socketDirectory('postgresql://app@db.internal:5432/classroom'), undefined, 'no parameter: TCP');
  t.equal(socketDirectory('postgresql://app@localhost/classroom?host=db.internal'), undefined, 'a host name is not a socket directory');
});

// Debian's PostgreSQL listens there; elsewhere the socket may live in another directory.
const SOCKETS = process.env.TEST_POSTGRES_SOCKET_DIR ?? '/var/run/postgresql';
const socketThere = await stat(`${SOCKETS}/.s.PGSQL.5432`).then(
  () => true,
  () => false,
);

t.test('the app connects through the socket when DATABASE_URL names one', { skip: socketThere ? false : `no PostgreSQL socket in ${SOCKETS}` }, async (t) => {
  const { config } = await createTestEnv(t, 'db-socket');
  const url = new URL(config.databaseUrl);
  url.hostname = 'localhost';
  url.port = '';
  url.searchParams.set('host', SOCKETS);
  const orm = await MikroORM.init(ormOptions({ ...config, databaseUrl: url.toString() }));
  t.teardown(() => orm.close());
  const [row] = await orm.em.fork().execute<Array<{ tcp: boolean; db: string }>>('SELECT inet_client_addr() IS NOT NULL AS tcp, current_database() AS db');
  t.same(row, { tcp: false, db: decodeURIComponent(url.pathname.slice(1)) }, 'a Unix socket, to the same database');
});
