import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { auth, logout, restoreSession } from './api.js';
import { closeLiveSocket, connection, liveSocket } from './live.js';
import { useRoute } from './router.js';
import { useStore } from './store.js';
import { Login } from './views/login.js';
import { Home } from './views/home.js';
import { InstructorCourse } from './views/instructor-course.js';
import { StudentCourse } from './views/student-course.js';
import { LessonView } from './views/lesson.js';
import { Certificates } from './views/certificates.js';
import { AdminUsers } from './views/admin-users.js';
import { Notice } from './views/common.js';
import './styles.css';

const CONNECTION_LABELS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' } as const;

function ConnectionBadge() {
  const state = useStore(connection);
  return (
    <span class={`conn conn-${state}`} role="status" aria-live="polite" data-testid="connection">
      <span class="dot" aria-hidden="true" />
      {CONNECTION_LABELS[state]}
    </span>
  );
}

function Screen({ route }: { route: string[] }) {
  const [section, id, sub, subId] = route;
  if (section === 'teach' && id) return <InstructorCourse courseId={id} />;
  if (section === 'learn' && id && sub === 'lessons' && subId) return <LessonView courseId={id} lessonId={subId} />;
  if (section === 'learn' && id) return <StudentCourse courseId={id} />;
  if (section === 'certificates') return <Certificates />;
  if (section === 'admin') return <AdminUsers />;
  if (!section) return <Home />;
  return (
    <Notice kind="error">
      This page does not exist. <a href="#/">Go to the start page</a>.
    </Notice>
  );
}

function App() {
  const state = useStore(auth);
  const route = useRoute();
  useEffect(() => void restoreSession(), []);
  useEffect(() => {
    if (state.status === 'signed-in') liveSocket();
    else if (state.status === 'signed-out') closeLiveSocket();
  }, [state.status]);

  if (state.status === 'loading') return <p class="boot">Loading…</p>;
  if (state.status === 'signed-out') return <Login notice={state.notice} />;
  const { user } = state;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Classroom
        </a>
        <nav aria-label="Main">
          <a href="#/">{user.role === 'student' ? 'My courses' : user.role === 'admin' ? 'Admin' : 'My courses'}</a>
          {user.role === 'student' && <a href="#/certificates">Certificates</a>}
        </nav>
        <ConnectionBadge />
        <span class="who" data-testid="who">
          {user.fullName} <small>({user.role})</small>
        </span>
        <button type="button" class="link" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      <main id="main">
        <Screen route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('root')!);
