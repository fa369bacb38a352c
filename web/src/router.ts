import { useEffect, useState } from 'preact/hooks';

/** Routes live in the URL hash (`/app/#/teach/<courseId>`): the server serves one page at `/app/`. */
export function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const onChange = () => setParts(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return parts;
}

export function navigate(path: string): void {
  location.hash = `#${path}`;
}
