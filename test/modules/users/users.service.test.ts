import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { recordingPublisher } from '../../helpers/publisher.js';
import { createUser } from '../../helpers/users.js';
import { updateUser } from '../../../server/modules/users/users.service.js';

// The users service reports account changes itself: an adapter only calls it.
const { app } = await buildTestApp(t, 'users-service');
const admin = await createUser(app, 'admin');

t.test('a rename reports nothing; a role change and a deactivation report accountChanged', async (t) => {
  const user = await createUser(app, 'student');
  const publisher = recordingPublisher();
  await updateUser({ ...app.forkDeps(), publisher }, user.id, { fullName: 'Renamed' });
  t.same(publisher.calls.accountChanged, [], 'a rename is not an account change');
  await updateUser({ ...app.forkDeps(), publisher }, user.id, { role: 'instructor' });
  t.same(publisher.calls.accountChanged, [user.id]);
  await updateUser({ ...app.forkDeps(), publisher }, user.id, { isActive: false });
  t.same(publisher.calls.accountChanged, [user.id, user.id]);
});

t.test('the last active admin cannot be demoted, and nothing is reported', async (t) => {
  const publisher = recordingPublisher();
  await t.rejects(updateUser({ ...app.forkDeps(), publisher }, admin.id, { role: 'student' }), { code: 'CONFLICT' });
  t.same(publisher.calls.accountChanged, []);
});
