import { Link } from 'react-router-dom';
import { EmptyState } from '../components/ui';

export function NotFoundPage() {
  return (
    <EmptyState title="Page not found" action={<Link className="text-sm font-medium text-indigo-600 hover:underline dark:text-indigo-400" to="/">Back to projects</Link>}>
      There is nothing at this address.
    </EmptyState>
  );
}
