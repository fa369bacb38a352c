import type { UserRole } from '../../../entities/enums.js';

/** Who is calling, as every service sees it: the user and its role as checked on this request or socket. */
export interface AuthUser {
  id: string;
  role: UserRole;
}
