import { Link, NavLink, Outlet } from 'react-router';
import { UserMenu } from '../auth/AuthGate';

export function Layout() {
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          <svg width="18" height="18" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M1 13 L5 7 L8 10 L12 3 L15 6" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
          Gradsight
        </Link>
        <nav className="topnav">
          <NavLink to="/" end>
            Runs
          </NavLink>
          <NavLink to="/compare">Compare</NavLink>
        </nav>
        <UserMenu />
      </header>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
