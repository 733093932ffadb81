import { Link } from 'react-router';

export function NotFound() {
  return (
    <div className="page">
      <div className="state state-empty">
        <p className="state-title">Page not found</p>
        <p className="state-body">
          Nothing lives at this address. <Link to="/">Back to runs</Link>
        </p>
      </div>
    </div>
  );
}
