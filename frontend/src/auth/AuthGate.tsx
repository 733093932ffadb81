// Shows the login form when the server requires sign-in and nobody is signed in; otherwise
// the app. In local mode (`GET /auth/me` → mode "local") nothing changes.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect } from 'react';
import { ApiError, api, setUnauthorizedHandler } from '../api/client';
import { queryKeys } from '../api/queries';
import { Login } from './Login';

export const meKey = [...queryKeys.all, 'me'] as const;

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: ({ signal }) => api.me(signal), staleTime: 60_000, retry: false });
}

export function AuthGate({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const me = useMe();
  useEffect(() => {
    // Any 401 (the session expired mid-use) brings the login form back.
    setUnauthorizedHandler(() => void client.invalidateQueries({ queryKey: meKey }));
    return () => setUnauthorizedHandler(() => {});
  }, [client]);
  if (me.isPending) return null;
  if (me.error instanceof ApiError && me.error.status === 401) {
    return <Login onSignedIn={() => void client.resetQueries()} />;
  }
  return <>{children}</>;
}

/** The signed-in user and a sign-out button (nothing in local mode). */
export function UserMenu() {
  const client = useQueryClient();
  const me = useMe();
  const user = me.data?.user;
  if (!user) return null;
  const signOut = async () => {
    await api.logout().catch(() => undefined);
    // Drop every cached answer (they belong to the user who left) and ask who is here now.
    await client.resetQueries();
  };
  return (
    <span className="user-menu">
      <span className="user-name">{user.username}</span>
      <button type="button" className="link-button" onClick={() => void signOut()}>
        Sign out
      </button>
    </span>
  );
}
