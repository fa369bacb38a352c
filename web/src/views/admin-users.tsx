import { useState } from 'preact/hooks';
import { api, describeError } from '../api.js';
import type { Page, User } from '../types.js';
import { Notice, useLoad } from './common.js';

const ROLES = ['student', 'instructor', 'admin'] as const;

export function AdminUsers() {
  const [query, setQuery] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const { data, error, reload } = useLoad(() => api.get<Page<User>>(`/api/users?limit=100${query ? `&q=${encodeURIComponent(query)}` : ''}`), [query]);

  async function update(user: User, change: Partial<Pick<User, 'role' | 'isActive'>>) {
    setMessage(null);
    try {
      await api.patch(`/api/users/${user.id}`, change);
      await reload();
    } catch (failure) {
      setMessage(describeError(failure));
    }
  }

  async function openQueues() {
    setMessage(null);
    try {
      const { url } = await api.post<{ url: string }>('/api/admin/queues-session');
      location.assign(url);
    } catch (failure) {
      setMessage(describeError(failure));
    }
  }

  if (error) return <Notice kind="error">{error}</Notice>;
  return (
    <section>
      <h1>Users</h1>
      <p>
        <button type="button" onClick={() => void openQueues()}>
          Open the queue dashboard
        </button>
      </p>
      <label>
        Search
        <input type="search" value={query} onChange={(event) => setQuery(event.currentTarget.value)} placeholder="name or email" />
      </label>
      {message && <Notice kind="error">{message}</Notice>}
      {!data ? (
        <p>Loading users…</p>
      ) : (
        <table class="users">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Active</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((user) => (
              <tr key={user.id}>
                <td>{user.fullName}</td>
                <td>{user.email}</td>
                <td>
                  <select
                    aria-label={`Role of ${user.fullName}`}
                    value={user.role}
                    onChange={(event) => void update(user, { role: event.currentTarget.value as User['role'] })}
                  >
                    {ROLES.map((role) => (
                      <option key={role} value={role}>
                        {role}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <label>
                    <input type="checkbox" checked={user.isActive} onChange={(event) => void update(user, { isActive: event.currentTarget.checked })} />
                    <span class="sr-only">{user.fullName} is active</span>
                  </label>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
