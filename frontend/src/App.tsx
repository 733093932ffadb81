import { Route, Routes } from 'react-router';
import { Layout } from './components/Layout';
import { ComparePage } from './pages/ComparePage';
import { NotFound } from './pages/NotFound';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<RunsPage />} />
        <Route path="runs/:id" element={<RunPage />} />
        <Route path="compare" element={<ComparePage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
