import { api, auth } from '../api.js';
import { useStore } from '../store.js';
import type { Course, EnrollmentJson, Page } from '../types.js';
import { AdminUsers } from './admin-users.js';
import { Notice, ProgressBar, useLoad } from './common.js';

function StudentHome() {
  const { data, error } = useLoad(() => api.get<Page<EnrollmentJson>>('/api/enrollments?limit=100'), []);
  if (error) return <Notice kind="error">{error}</Notice>;
  if (!data) return <p>Loading your courses…</p>;
  const enrollments = data.items.filter((item) => item.status !== 'dropped');
  return (
    <section>
      <h1>My courses</h1>
      {enrollments.length === 0 && <p>You are not enrolled in any course yet.</p>}
      <ul class="cards">
        {enrollments.map((enrollment) => (
          <li key={enrollment.id} class="card">
            <a href={`#/learn/${enrollment.courseId}`}>{enrollment.course?.title ?? 'Course'}</a>
            <ProgressBar value={enrollment.progressPercentage} label={`Progress in ${enrollment.course?.title ?? 'the course'}`} />
            <small>
              {enrollment.completedLessonsCount} of {enrollment.totalLessonsCount} lessons
              {enrollment.status === 'completed' ? ' · completed' : ''}
            </small>
          </li>
        ))}
      </ul>
    </section>
  );
}

function InstructorHome() {
  const { data, error } = useLoad(() => api.get<Page<Course>>('/api/courses?mine=true&limit=100'), []);
  if (error) return <Notice kind="error">{error}</Notice>;
  if (!data) return <p>Loading your courses…</p>;
  return (
    <section>
      <h1>My courses</h1>
      {data.items.length === 0 && <p>You have no courses yet.</p>}
      <ul class="cards">
        {data.items.map((course) => (
          <li key={course.id} class="card">
            <a href={`#/teach/${course.id}`}>{course.title}</a>
            <small>{course.isPublished ? 'published' : 'draft'}</small>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Home() {
  const state = useStore(auth);
  if (state.status !== 'signed-in') return null;
  if (state.user.role === 'student') return <StudentHome />;
  if (state.user.role === 'admin') return <AdminUsers />;
  return <InstructorHome />;
}
