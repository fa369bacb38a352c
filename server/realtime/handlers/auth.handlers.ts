import { unauthorized } from '../../platform/errors.js';
import type { AuthUser } from '../../modules/auth/auth-user.js';
import type { ClientEventHandlers } from '../ack.js';

/** `auth:refresh`: a new access token of the same user keeps a live socket beyond the old one's expiry. */
export function createAuthHandlers(deps: { verifyAccessToken(token: string): Promise<AuthUser & { expiresAt: number }> }): ClientEventHandlers<'auth:refresh'> {
  return {
    async 'auth:refresh'({ socket }, { token }) {
      const verified = await deps.verifyAccessToken(token);
      if (verified.id !== socket.data.userId) throw unauthorized('This token belongs to another user');
      socket.data.role = verified.role;
      socket.data.expiresAt = verified.expiresAt;
      return { expiresAt: new Date(verified.expiresAt).toISOString() };
    },
  };
}
